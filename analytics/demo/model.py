"""The hidden behaviour model: coefficients (written to ``.truth/model.json``) and the sigmoid."""

from __future__ import annotations

import numpy as np

from analytics.demo.reference import REGION_CODE, STREETS

MODEL: dict = {
    "description": (
        "logit p = intercept + age_z*z + age_z2*z^2 + male*male + urban*urban + income_z*zi "
        "+ sum_g group[g]*G_g + street_effect[street] + grade_z*ln(grade/300) (upgrade) "
        "+ lapse_log*ln(1+quarters_lapsed) (resume) + visited*(visit + sum_g visit_group[g]*G_g); "
        "z=(age-40)/15, zi=(ln(income)-ln(30000))/0.6, G_g = evidence-based group flags at the as-of "
        "date. p is the chance that the target reaches its outcome (enrolls / upgrades / resumes) "
        "by the next quarter end if it survives; p_true = p * (1 - quarterly death hazard)."
    ),
    "enroll": {
        "intercept": -2.3,
        "age_z": 0.25,
        "age_z2": -0.35,
        "male": -0.10,
        "urban": 0.20,
        "income_z": 0.30,
        "group": {
            "1": 0.30,
            "2": 0.50,
            "3": -0.35,
            "4": -0.25,
            "5": 0.40,
            "6": 0.60,
            "7": 1.10,
            "8": 0.80,
        },
        "visit": 0.90,
        "visit_group": {
            "1": 0.30,
            "2": 0.50,
            "3": 0.10,
            "4": -0.30,
            "5": 0.20,
            "6": 0.20,
            "7": 0.60,
            "8": 0.40,
        },
    },
    "upgrade": {
        "intercept": -4.9,
        "age_z": -0.30,
        "age_z2": -0.10,
        "male": 0.05,
        "urban": 0.30,
        "income_z": 0.50,
        "grade_z": 0.35,
        "group": {
            "1": 0.30,
            "2": 0.0,
            "3": 0.40,
            "4": 0.20,
            "5": 0.50,
            "6": 0.80,
            "7": 0.0,
            "8": 1.00,
        },
        "visit": 0.70,
        "visit_group": {
            "1": 0.20,
            "2": 0.0,
            "3": 0.30,
            "4": -0.30,
            "5": 0.30,
            "6": 0.50,
            "7": 0.0,
            "8": 0.40,
        },
    },
    "resume": {
        "intercept": -1.6,
        "age_z": 0.10,
        "age_z2": -0.05,
        "male": 0.0,
        "urban": 0.10,
        "income_z": 0.25,
        "lapse_log": -0.45,
        "group": {
            "1": 0.0,
            "2": 0.30,
            "3": -0.30,
            "4": -0.20,
            "5": 0.20,
            "6": 0.30,
            "7": 1.00,
            "8": 0.30,
        },
        "visit": 1.00,
        "visit_group": {
            "1": 0.0,
            "2": 0.20,
            "3": 0.20,
            "4": 0.0,
            "5": 0.0,
            "6": 0.0,
            "7": 0.50,
            "8": 0.0,
        },
    },
    "street_effect": {REGION_CODE + s[0]: s[5] for s in STREETS},
    "visit_model": {
        "description": "logit v = intercept + slope*(logit p_novisit + 2.5) + street_visit[street] + N(0, noise_sd)",
        "intercept": -2.2,
        "slope": 0.6,
        "noise_sd": 1.0,
        "street_visit": {REGION_CODE + s[0]: s[6] for s in STREETS},
    },
    "death_hazard": "annual = exp(-10.6 + 0.092*age), quarterly = annual/4 (capped at 0.25)",
    "lapse_hazard_per_quarter": {"resident": 0.012, "employee": 0.008, "group_3_or_4_factor": 2.0},
    "retirement_age": {"resident": 60, "employee_male": 60, "employee_female": 55},
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
