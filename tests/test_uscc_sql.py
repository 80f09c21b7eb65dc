"""Credit codes are checked in SQL (most of them) and in Python (the rest): the
verdicts of a column's value map must be those of the Python check, cell by cell."""

import datetime as dt
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ids import USCC_CHARS, normalize_uscc, uscc_check_char
from analytics.ingest.checks import Context, _value_map, _verdict, check_value, uscc_ok_sql
from analytics.sources import Field, load_sources
from analytics.textnorm import clean

SOURCES = load_sources()
CTX = Context(dt.date(2025, 6, 30), "110105")
first17 = st.text(alphabet=USCC_CHARS, min_size=17, max_size=17)


@st.composite
def written_codes(draw: st.DrawFn) -> str:
    body = draw(first17)
    how = draw(
        st.sampled_from(["valid", "lower", "wrong", "outside", "short", "wide", "eszett", "junk"])
    )
    code = body + uscc_check_char(body)
    if how == "lower":
        return code.lower()
    if how == "wrong":
        return body + draw(st.sampled_from(USCC_CHARS + "IOSVZ"))
    if how == "outside":
        return code[:5] + draw(st.sampled_from("IOSVZiosvz")) + code[6:]
    if how == "short":
        return code[: draw(st.integers(0, 17))]
    if how == "wide":
        # Full-width text and spaces around: cleaned to the code (or not) before the check.
        return "\u3000" + "".join(chr(ord(c) + 0xFEE0) for c in code) + " "
    if how == "eszett":
        # Not ASCII: checked in Python, where upper() turns ß into SS.
        return code[:16] + "ß"
    if how == "junk":
        return draw(st.text(max_size=20))
    return code


def _map(values: list[str], required: bool) -> dict[str, tuple]:
    con = duckdb.connect()
    con.register("cells", pa.table({"pos": list(range(1, len(values) + 1)), "c0": values}))
    con.execute("CREATE TEMP TABLE raw AS SELECT * FROM cells")
    t = SimpleNamespace(
        seq=0,
        kind=SimpleNamespace(name="market_entity"),
        raw="raw",
        located=SimpleNamespace(header_index=0),
    )
    f = Field("uscc", "uscc", required, (), None)
    name = _value_map(con, t, 0, f, CTX, SOURCES)
    return {r[0]: r[2:] for r in con.execute(f"SELECT * FROM {name}").fetchall()}


@settings(max_examples=150, deadline=None)
@given(st.lists(written_codes(), min_size=1, max_size=30), st.booleans())
def test_credit_code_verdicts_agree_with_the_python_check(values: list[str], required: bool):
    got = _map(values, required)
    f = Field("uscc", "uscc", required, (), None)
    for raw in set(values):
        k = clean(raw)
        if k == "":
            assert raw not in got
            continue
        v, reason = check_value(f, k, CTX, SOURCES)
        assert got[raw] == (v, *_verdict(f, reason)), raw


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91350100m000100y43"])
def test_a_valid_code_passes_in_sql(code: str) -> None:
    assert normalize_uscc(code) == code.upper()
    con = duckdb.connect()
    assert con.execute(f"SELECT {uscc_ok_sql('upper($c)')}", {"c": code}).fetchall() == [(True,)]
