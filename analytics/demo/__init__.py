"""Synthetic demo region (示例市, fictional code 530199) written as department batches.

Everything here is SYNTHETIC: people, IDs, businesses and boundaries are invented.
The generator serves three purposes: a demo for the app, scale data for tests and
benchmarks, and a ground truth against which the importer's accounting and the
registry's ranking can be checked.

Output layout (``out`` is a directory)::

    out/2023-03-31/ ... out/2025-09-30/    one batch per quarter end (11 batches)
        manifest.toml                    as_of and region_code
        养老保险参保.csv, death_*.csv, 入户调查_*.xlsx, ...   department files
        示例市边界.geojson                 (first batch only) streets and communities
    out/.truth/                          hidden from ``out/*`` globs
        model.json        behaviour-model coefficients and formula
        persons.csv       every generated person with street, community and groups
        probabilities.csv every target at every date but the last, p_true, visit, outcome
        accounting.csv    per file: read, accepted, duplicates, problems
        problems.csv      per injected problem (error) and warning: file, row, reason
        kpi.csv           legal population, insured, contributors per city/street/community

Shards
------
Above ``SHARD_PERSONS`` people (1,000,000; ``shard_persons=`` / ``--shard-persons``)
the region is generated in ceil(persons / shard_persons) shards of near-equal size,
one after the other, each a whole world over all 11 quarters with its own seed
(shard 0 the region's seed, shard s ``(seed, s)``), freed before the next: memory is
a shard's (about 2.5 GiB at a million), whatever the region's size. Shard s >= 1
writes its files beside shard 0's, named with a suffix (``养老保险参保_s01.csv``,
``入户调查_2024Q1_s01.xlsx``: the kind stays in the name); the manifests, the
division list and the boundaries are written once, by shard 0. The shards share
shard 0's geography, cadres and outside employers, and ID numbers and credit codes
are unique across all of them (later shards redraw what earlier shards issued), so
no key of one shard's files is in another's. The truth is merged: persons,
probabilities, accounting and problems are the shards' rows one after the other,
and kpi.csv sums the counts per date and area and computes the rates again from
the sums. A region of one shard is byte-identical to what the generator wrote
before shards existed.

The hidden behaviour model
--------------------------
People are simulated quarter by quarter. At each quarter end t the registry's own
rules (data contract) applied to the *clean* data give every legal-population member
a target type: ``enroll`` (not insured), ``resume`` (only enrollment is 暂停缴费) or
``upgrade`` (contributing to 城乡居民 while in group 1/3/4/5/6/8, not group 7). During
the next quarter a target reaches its outcome with probability

    p = sigmoid( a[type] + b_age*z + b_age2*z^2 + b_male*male + b_urban*urban
                 + b_income*zi + sum_g b_g*G_g + street[s]
                 + b_grade*ln(grade/300)            (upgrade only)
                 + b_lapse*ln(1 + quarters lapsed)  (resume only)
                 + visited * (u0 + sum_g u_g*G_g) )

with z = (age-40)/15, zi = (ln income - ln 30000)/0.6 and G_g the evidence-based group
flags. Cadres visit targets during the quarter (a visit = a row in the next batch's
入户调查 file) with a probability that rises with the target's no-visit chance, plus
noise, so visits go preferentially to likely targets. ``p_true`` in probabilities.csv
is p times the chance of surviving the quarter; ``outcome`` is whether the target is
insured / contributing / an employee contributor at the next quarter end, which
happens exactly when the drawn move happens. Besides targeted moves the simulation
has deaths (Gompertz hazard), lapses, retirements, people turning 16 and leaving
school, yearly moves out, residence-permit churn and newcomers.

Messy files
-----------
Defects are injected at low rates exactly as the data contract allows, one defect per
row, so that the accounting is certain: genuine rows are always accepted (formatting
defects such as 15-digit IDs, full-width digits, padding and odd date formats are
normalised away; optional fields made unreadable only raise warnings), and every
problem row is an extra copy (missing value, bad ID, bad credit code, bad date, unknown
value, bad or outside address code, conflict) or an exact duplicate placed after its
source. The truth of every file is written to ``.truth/accounting.csv``.

The package
-----------
It is the test oracle, so it imports nothing of the product (no other ``analytics``
module, no ``geo``) and keeps its own check-digit arithmetic and contract tables.

    reference    codes, quarter ends, streets, names, ID prefixes, pyramids, vocabularies
    model        the behaviour model (MODEL) and the sigmoid
    checks       check characters: GB 11643, GB 32100, GB 11714
    dates        calendar arithmetic on numpy dates
    geography    streets and communities
    people       everyone ever in the region
    latent       latent list memberships and market entities
    contract     KindSpec, KINDS and HEADERS, loaded from contract.toml
    shards       shard sizes and seeds, what shards share, the keys issued so far
    world        World: the state the simulation moves on (and _YearLists)
    yearly       the yearly lists: groups and exclusions
    enrollment   initial enrollment, terms of new enrollments, targeted moves
    rules        the registry's rules on clean data: legal population, targets, KPIs
    visits       cadres' visits (入户调查 rows)
    dynamics     one quarter of behaviour
    rows         clean rows of each kind
    plans        FilePlan and the files each kind goes into
    defects      defect injection, one defect per row
    render       rows as cells, with formatting defects
    writers      CSV and xlsx writers
    batches      Batches: a world's files of each quarter end, with their accounting
    truth        what is written to ``.truth/``
    boundaries   the synthetic street and community boundaries (GeoJSON)
    generate     generate_demo: the whole run, shard by shard
"""

from __future__ import annotations

from analytics.demo.boundaries import make_boundaries
from analytics.demo.generate import generate_demo
from analytics.demo.reference import QUARTER_ENDS, REGION_CODE, REGION_NAME
from analytics.demo.shards import SHARD_PERSONS

__all__ = [
    "QUARTER_ENDS",
    "REGION_CODE",
    "REGION_NAME",
    "SHARD_PERSONS",
    "generate_demo",
    "make_boundaries",
]
