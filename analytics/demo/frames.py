"""DataFrames of plain Python objects, the form rows take on their way to files."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _frame(cols: dict) -> pd.DataFrame:
    """A DataFrame whose text columns stay plain Python objects (not pandas' Arrow strings)."""
    out = {}
    for k, v in cols.items():
        v = np.asarray(v) if not np.isscalar(v) else v
        if isinstance(v, np.ndarray) and v.dtype.kind in "UO":
            v = pd.Series(v.astype(object), dtype=object)
        out[k] = v
    return pd.DataFrame(out)


def _ints(values: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Integers as Python objects, '' where absent (so CSV and xlsx both write them plainly)."""
    out = np.array([int(v) for v in values], dtype=object)
    if present is not None:
        out[~present] = ""
    return out
