"""The learned ranking of targets: who is most likely to enroll, upgrade or
resume by the next quarter end, learned from what happened to earlier targets.

One job a module, imported in this order (none imports one after it):

- :mod:`.features` — feature making (pure), the feature order;
- :mod:`.prior` — the documented prior;
- :mod:`.history` — training data read from the registry's snapshots;
- :mod:`.estimators` — the classifiers (scikit-learn's estimator contract);
- :mod:`.selection` — metrics, model choice by held-out date, uplift;
- :mod:`.explain` — reasons; :mod:`.actions` — suggested actions (六个一批);
- :mod:`.score` — the build's score step (``score_targets``, ``code_files``).

The package itself exports only the training-data API (features and history),
which does not load scikit-learn; import the other modules by name.
"""

from analytics.ranking.features import NUMERIC, SURVEY_RESULTS, TYPES, feature_frame
from analytics.ranking.history import (
    TRAINING_ROWS,
    History,
    load_history,
    sample_number,
    sample_threshold,
    training_pairs,
    visits_between,
)

__all__ = [
    "NUMERIC",
    "SURVEY_RESULTS",
    "TRAINING_ROWS",
    "TYPES",
    "History",
    "feature_frame",
    "load_history",
    "sample_number",
    "sample_threshold",
    "training_pairs",
    "visits_between",
]
