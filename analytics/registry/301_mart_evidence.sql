-- mart_evidence: the evidence of every group found for a person of the region.
CREATE OR REPLACE TEMP TABLE mart_evidence AS
SELECT e.* FROM int_group_evidence e SEMI JOIN int_population USING (id_number);
