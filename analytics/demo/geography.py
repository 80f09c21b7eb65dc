"""Streets and communities of the demo region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.demo.reference import _COMMUNITY_STEMS, _VILLAGE_STEMS, REGION_CODE, STREETS


@dataclass(frozen=True)
class Geography:
    """Streets and communities of the demo region (one row each)."""

    streets: pd.DataFrame  # code, name, urban, cov_eff, str_eff, move_eff, visit_eff
    communities: pd.DataFrame  # code, name, street_code, street_idx, urban, weight, street_name


def make_geography(rng: np.random.Generator) -> Geography:
    streets = pd.DataFrame(
        [(REGION_CODE + s[0], s[1], s[2], s[3], s[4], s[5], s[6]) for s in STREETS],
        columns=["code", "name", "urban", "cov_eff", "str_eff", "move_eff", "visit_eff"],
    )
    stems_c = list(rng.permutation(_COMMUNITY_STEMS))
    stems_v = list(rng.permutation(_VILLAGE_STEMS))
    rows = []
    for si, st in streets.iterrows():
        # Urban streets: mostly 社区 and one 城中村; towns: a seat 社区 or two and villages.
        n_comm, n_vill = (
            (8, 1) if st.urban else (int(rng.integers(1, 3)), int(rng.integers(11, 14)))
        )
        for k in range(n_comm):
            rows.append(
                (
                    st.code + f"{k + 1:03d}",
                    stems_c.pop() + "社区",
                    st.code,
                    si,
                    True,
                    rng.uniform(1.3, 2.3),
                )
            )
        for k in range(n_vill):
            rows.append(
                (
                    st.code + f"{200 + k + 1:03d}",
                    stems_v.pop() + "村",
                    st.code,
                    si,
                    False,
                    rng.uniform(0.6, 1.2),
                )
            )
    comms = pd.DataFrame(
        rows, columns=["code", "name", "street_code", "street_idx", "urban", "weight"]
    )
    comms["street_name"] = streets.name.to_numpy()[comms.street_idx]
    return Geography(streets, comms)
