"""Defect injection: one defect per row, so the truth of every row is certain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.demo.checks import USCC_CHARS, _id_with_check, _wrong_check
from analytics.demo.contract import KindSpec
from analytics.demo.dates import _dates_from_days
from analytics.demo.people import _make_ids
from analytics.demo.plans import FilePlan
from analytics.demo.reference import (
    _DISABILITY_TYPES,
    _MONITOR_TYPES,
    _OUTSIDE_ADDRESS_COUNTIES,
    _SCHOOLS,
    REGION_CODE,
)

# Per-row rates (0.1-0.5 % each, as departments' real files have).
_FORMAT_RATES = {
    "id15": 0.003,
    "id_fw": 0.002,
    "id_lx": 0.03,
    "pad": 0.004,
    "date_alt": 0.004,
    "date_fw": 0.002,
    "date_serial": 0.003,
}
_WARN_RATES = {"name_mm": 0.002, "gender_mm": 0.001, "opt_enum": 0.002, "opt_date": 0.002}
_PROBLEM_RATES = {
    "missing_value": 0.002,
    "invalid_id": 0.003,
    "invalid_uscc": 0.004,
    "invalid_date": 0.004,
    "invalid_value": 0.002,
    "invalid_address_code": 0.002,
    "out_of_region": 0.003,
    "conflict": 0.002,
    "duplicate": 0.003,
}


# Values a conflicting copy may take instead (any valid value other than the original).
_ALTERNATIVES: dict[str, Sequence[str]] = {
    "status": ("参保缴费", "暂停缴费", "待遇领取"),
    "tax_status": ("正常", "非正常", "注销"),
    "category": ("城市低保", "农村低保"),
    "monitor_type": tuple(_MONITOR_TYPES),
    "disability_type": tuple(_DISABILITY_TYPES),
    "school": tuple(_SCHOOLS),
    "result": ("同意参保", "考虑中", "拒绝", "联系不上"),
}


class _Picker:
    """Draws disjoint sets of rows, so no row carries two defects."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.order = rng.permutation(n)
        self.free = np.ones(n, dtype=bool)
        self.rng = rng

    def take(self, rate: float, eligible: np.ndarray | None = None) -> np.ndarray:
        cand = self.order[self.free[self.order]]
        if eligible is not None:
            cand = cand[eligible[cand]]
        k = int(self.rng.binomial(len(cand), min(rate, 1.0))) if len(cand) else 0
        chosen = np.sort(cand[:k])
        self.free[chosen] = False
        return chosen


@dataclass
class _Rows:
    """Rows of one kind in one batch on their way to files, with what happens to each."""

    data: pd.DataFrame  # canonical fields + _pi, _fidx
    role: np.ndarray  # "accepted" | "duplicate" | "problem"
    reason: np.ndarray  # problem reason or warning reason
    op: np.ndarray  # post-render operation ('' none)


def _fresh_outside_ids(rng: np.random.Generator, k: int) -> np.ndarray:
    prefix = np.array(_OUTSIDE_ADDRESS_COUNTIES)[rng.integers(0, len(_OUTSIDE_ADDRESS_COUNTIES), k)]
    birth = _dates_from_days(
        rng.integers(
            np.datetime64("1950-01-01").astype(int), np.datetime64("2004-12-31").astype(int), k
        )
    )
    return _make_ids(rng, prefix, birth, rng.random(k) < 0.5)


def _alternative(
    field_name: str, values: pd.Series, rng: np.random.Generator, comm_codes: np.ndarray
) -> list:
    """A valid value different from each original: what a conflicting copy carries."""
    out = []
    for v in values:
        if field_name in _ALTERNATIVES:
            choices = [c for c in _ALTERNATIVES[field_name] if c != v]
            out.append(choices[int(rng.integers(0, len(choices)))])
        elif field_name == "address_code":
            choices = comm_codes[comm_codes != v]
            out.append(str(choices[int(rng.integers(0, len(choices)))]))
        elif isinstance(v, (np.datetime64, pd.Timestamp, dt.date)) and not pd.isna(v):
            out.append(pd.Timestamp(v) - pd.Timedelta(days=int(rng.integers(30, 400))))
        elif field_name in ("release_date", "death_date", "expropriation_date"):
            out.append(pd.Timestamp("2022-06-15") - pd.Timedelta(days=int(rng.integers(0, 400))))
        elif isinstance(v, (int, np.integer)):
            out.append(int(v) + int(rng.integers(1, 9)))
        elif v == "" and field_name in ("employees", "monthly_income", "vehicles"):
            out.append(int(rng.integers(1, 9)))
        else:
            out.append(f"{v}分部" if v else "示例市人力资源服务中心")
    return out


def inject_defects(
    data: pd.DataFrame,
    spec: KindSpec,
    plans: list[FilePlan],
    as_of: dt.date,
    rng: np.random.Generator,
    ctx: dict,
) -> _Rows:
    """Add the contract's defects to the genuine rows of one kind in one batch.

    ``data`` holds canonical values, one genuine row per record (all valid, keys unique),
    sorted by file; ``ctx`` gives the helpers that know the world (names, hukou people,
    community codes). Returns every row in final file order with its fate.
    """
    n = len(data)
    data = data.reset_index(drop=True).copy()
    pick = _Picker(n, rng)
    op = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    fidx = data._fidx.to_numpy()
    xlsx = np.array([p.fmt == "xlsx" for p in plans])[fidx]
    date_cells = np.array([p.date_cells for p in plans])[fidx]
    ids = data[spec.id_field].to_numpy() if spec.id_field else None

    # -- formatting defects on genuine rows: normalised away by the importer
    if ids is not None:
        id_text = pd.Series(ids, dtype=object)
        has_id = ids != ""
        born_1900s = (id_text.str[6:8] == "19").to_numpy() & has_id
        op[pick.take(_FORMAT_RATES["id15"], born_1900s)] = "id15"
        op[pick.take(_FORMAT_RATES["id_fw"], has_id)] = "id_fw"
        op[pick.take(_FORMAT_RATES["id_lx"], id_text.str.endswith("X").to_numpy())] = "id_lx"
    op[pick.take(_FORMAT_RATES["pad"])] = "pad"
    if spec.dates:
        has_date = ~data[spec.dates[0]].isna().to_numpy()
        op[pick.take(_FORMAT_RATES["date_alt"], has_date)] = "date_alt"
        op[pick.take(_FORMAT_RATES["date_fw"], has_date & ~date_cells)] = "date_fw"
        op[pick.take(_FORMAT_RATES["date_serial"], has_date & xlsx)] = "date_serial"

    # -- warnings on genuine rows: accepted, but the importer should flag them
    if spec.name_mismatch and "name" in data:
        rows = pick.take(_WARN_RATES["name_mm"], ctx["has_hukou"](data._pi.to_numpy()))
        data.loc[rows, "name"] = ctx["other_name"](data.loc[rows, "name"].to_numpy())
        reason[rows] = "name_mismatch"
    if spec.kind == "hukou":
        rows = pick.take(_WARN_RATES["gender_mm"])
        data.loc[rows, "gender"] = np.where(data.loc[rows, "gender"] == "男", "女", "男")
        reason[rows] = "gender_mismatch"
    for fld, (safe, bad) in spec.optional_enums.items():
        rows = pick.take(_WARN_RATES["opt_enum"], data[fld].isin(safe).to_numpy())
        data.loc[rows, fld] = bad
        reason[rows] = "invalid_value"
    if spec.optional_date_warn:
        rows = pick.take(_WARN_RATES["opt_date"], ~data[spec.optional_date_warn].isna().to_numpy())
        op[rows] = "opt_date"
        reason[rows] = "invalid_date"

    # -- extra rows: problems (copies of genuine rows with one thing wrong) and duplicates
    extras: list[
        tuple[pd.DataFrame, str, str, bool]
    ] = []  # rows, role/reason, op, placed after source

    def copies(rows: np.ndarray) -> pd.DataFrame:
        return data.loc[rows].copy().assign(_src=rows)

    rows = pick.take(_PROBLEM_RATES["missing_value"])
    if len(rows):
        c = copies(rows)
        for i, fld in zip(c.index, rng.choice(list(spec.required), len(rows))):
            c.at[i, fld] = pd.NaT if fld in spec.dates else ""
        extras.append((c, "missing_value", "", False))
    if ids is not None:
        rows = pick.take(_PROBLEM_RATES["invalid_id"], has_id)
        if len(rows):
            c = copies(rows)
            bad = _wrong_check(c[spec.id_field].to_numpy().astype(str), rng)
            # One in five carries an impossible birth month instead (with a right check digit).
            month13 = rng.random(len(rows)) < 0.2
            body = np.array([s[:10] + "13" + s[12:17] for s in c[spec.id_field]])
            bad = np.where(month13, _id_with_check(body), bad) if len(body) else bad
            c[spec.id_field] = bad
            extras.append((c, "invalid_id", "", False))
    if "uscc" in spec.fields:
        rows = pick.take(_PROBLEM_RATES["invalid_uscc"])
        if len(rows):
            c = copies(rows)
            u = c.uscc.to_numpy().astype(str)
            forbidden = rng.random(len(rows)) < 0.3  # a letter GB 32100 never uses (I, O, S, V, Z)
            letters = np.array(list("IOSVZ"))[rng.integers(0, 5, len(rows))]
            wrong = np.array(
                [
                    USCC_CHARS[(USCC_CHARS.index(s[17]) + int(k)) % 31]
                    for s, k in zip(u, rng.integers(1, 31, len(rows)))
                ]
            )
            c["uscc"] = np.where(
                forbidden,
                [s[:10] + ch + s[11:] for s, ch in zip(u, letters)],
                [s[:17] + w for s, w in zip(u, wrong)],
            )
            extras.append((c, "invalid_uscc", "", False))
    for fld in spec.required_dates:
        rows = pick.take(_PROBLEM_RATES["invalid_date"])
        if len(rows):
            c = copies(rows)
            future = rng.random(len(rows)) < 0.5
            later = pd.Timestamp(as_of) + pd.to_timedelta(
                rng.integers(20, 300, len(rows)), unit="D"
            )
            c[fld] = np.where(future, later, c[fld].to_numpy())
            extras.append((c[future], "invalid_date", "", False))
            extras.append((c[~future], "invalid_date", "bad_date", False))
    for fld, bad in spec.required_enums.items():
        rows = pick.take(_PROBLEM_RATES["invalid_value"] / len(spec.required_enums))
        if len(rows):
            extras.append((copies(rows).assign(**{fld: bad}), "invalid_value", "", False))
    if spec.address_field:
        rows = pick.take(_PROBLEM_RATES["invalid_address_code"])
        if len(rows):
            c = copies(rows)
            codes = c[spec.address_field].astype(str)
            if spec.kind == "pension_enrollment":
                c[spec.address_field] = np.where(
                    rng.random(len(rows)) < 0.5, "5301", REGION_CODE + "0010011"
                )
            else:  # a 9-digit street code or a code that lost a digit
                c[spec.address_field] = np.where(
                    rng.random(len(rows)) < 0.5, codes.str[:9], codes.str[:11]
                )
            extras.append((c, "invalid_address_code", "", False))
    if spec.address_field and spec.kind != "pension_enrollment":
        rows = pick.take(_PROBLEM_RATES["out_of_region"])
        if len(rows):
            c = copies(rows)
            c["id_number"] = _fresh_outside_ids(rng, len(rows))
            c["name"] = ctx["other_name"](c.name.to_numpy())
            county = np.array(_OUTSIDE_ADDRESS_COUNTIES)[
                rng.integers(0, len(_OUTSIDE_ADDRESS_COUNTIES), len(rows))
            ]
            c[spec.address_field] = [
                f"{k}{int(a):03d}{int(b):03d}"
                for k, a, b in zip(
                    county, rng.integers(1, 12, len(rows)), rng.integers(1, 30, len(rows))
                )
            ]
            if "address" in c:
                c["address"] = "外县" + c.address.str.slice(3)
            if "gender" in c:
                c["gender"] = np.where(
                    np.array([int(s[16]) % 2 for s in c.id_number]) == 1, "男", "女"
                )
            c["_pi"] = -1
            extras.append((c, "out_of_region", "", False))
    if spec.conflict_field:
        rows = pick.take(_PROBLEM_RATES["conflict"])
        if len(rows):
            c = copies(rows)
            c[spec.conflict_field] = _alternative(
                spec.conflict_field, c[spec.conflict_field], rng, ctx["community_codes"]
            )
            extras.append((c, "conflict", "", True))
    rows = pick.take(_PROBLEM_RATES["duplicate"])
    if len(rows):
        extras.append((copies(rows), "duplicate", "", True))

    return _interleave(data, op, reason, extras, rng)


def _interleave(
    data: pd.DataFrame,
    op: np.ndarray,
    reason: np.ndarray,
    extras: list[tuple[pd.DataFrame, str, str, bool]],
    rng: np.random.Generator,
) -> _Rows:
    """Put extra rows among the genuine ones, in the source's file, conflicts and duplicates after it."""
    n = len(data)
    fidx = data._fidx.to_numpy()
    starts = np.searchsorted(fidx, fidx, side="left")
    ends = np.searchsorted(fidx, fidx, side="right") - 1
    slot = [np.arange(n, dtype=float)]
    frames = [data]
    roles = [np.full(n, "accepted", dtype=object)]
    reasons = [reason]
    ops = [op]
    for rows, why, row_op, after in extras:
        if rows.empty:
            continue
        src = rows._src.to_numpy()
        lo = src if after else starts[src] - 1
        pos = lo + np.floor(rng.random(len(src)) * (ends[src] - lo + 1))
        slot.append(pos + 0.5)
        frames.append(rows.drop(columns="_src"))
        roles.append(
            np.full(len(rows), "duplicate" if why == "duplicate" else "problem", dtype=object)
        )
        reasons.append(np.full(len(rows), "" if why == "duplicate" else why, dtype=object))
        ops.append(np.full(len(rows), row_op, dtype=object))
    slots = np.concatenate(slot)
    order = np.lexsort((rng.random(len(slots)), slots))
    allrows = pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)
    return _Rows(
        allrows,
        np.concatenate(roles)[order],
        np.concatenate(reasons)[order],
        np.concatenate(ops)[order],
    )
