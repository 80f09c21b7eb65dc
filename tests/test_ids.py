"""Check digits (GB 11643-1999, GB 32100-2015) and the value normalizers."""

from __future__ import annotations

import datetime as dt

import pytest
from batchgen import id_check, uscc_check
from hypothesis import given
from hypothesis import strategies as st

from analytics.ids import (
    birth_date,
    gender,
    id_check_digit,
    normalize_id,
    normalize_uscc,
    uscc_check_char,
)
from analytics.textnorm import clean, fold, parse_date, parse_number

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULL_DIGITS = "０１２３４５６７８９"

# ---------------------------------------------------------------- GB 11643 examples


@pytest.mark.parametrize(
    "id18",
    [
        "11010519491231002X",  # the standard's own example (Beijing, 1949-12-31, woman)
        "440524188001010014",  # the standard's second example: a birth year in the 1800s
        "110101199003074477",  # computed here: check digit 7
    ],
)
def test_published_id_examples_are_valid(id18: str) -> None:
    assert id_check(id18[:17]) == id18[17]
    assert id_check_digit(id18[:17]) == id18[17]
    assert normalize_id(id18) == id18


def test_lower_case_x_is_upper_cased() -> None:
    assert normalize_id("11010519491231002x") == "11010519491231002X"


def test_fifteen_digit_id_is_upgraded_to_eighteen() -> None:
    assert normalize_id("110105491231002") == "11010519491231002X"


def test_fifteen_digit_id_with_impossible_date_is_invalid() -> None:
    assert normalize_id("110105490230002") is None  # 1949-02-30


@pytest.mark.parametrize("birth", ["19990230", "19990229", "19991301", "19990000", "19990132"])
def test_id_with_unreal_birth_date_is_invalid(birth: str) -> None:
    first17 = "110105" + birth + "002"
    assert normalize_id(first17 + id_check(first17)) is None


def test_id_with_leap_day_birth_date_is_valid() -> None:
    first17 = "110105" + "20000229" + "002"
    assert normalize_id(first17 + id_check(first17)) == first17 + id_check(first17)


def test_id_with_wrong_check_digit_is_invalid() -> None:
    assert normalize_id("110105194912310021") is None
    assert normalize_id("440524188001010015") is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1101051949123100",
        "1101051949123100211",
        "11010519491231002Y",
        "1101051949123100XX",
        "11010519491231002X ",
        "１１０１０５４９１２３１００２",
    ],
)
def test_id_of_wrong_shape_is_invalid(value: str) -> None:
    # normalize_id takes cleaned text: full-width digits are folded by clean() first.
    assert normalize_id(value) is None


def test_full_width_id_is_valid_after_clean() -> None:
    assert normalize_id(clean("　１１０１０５１９４９１２３１００２ｘ ")) == "11010519491231002X"


def test_birth_date_and_sex_come_from_the_id() -> None:
    assert birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert gender("11010519491231002X") == "女"
    assert gender("440524188001010014") == "男"


# ---------------------------------------------------------------- GB 32100 examples


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the standard's own example
        "914403001922038216",  # 华为技术有限公司
        "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
        "91330100716105852F",
    ],
)
def test_published_uscc_examples_are_valid(code: str) -> None:
    assert uscc_check(code[:17]) == code[17]
    assert uscc_check_char(code[:17]) == code[17]
    assert normalize_uscc(code) == code


def test_lower_case_uscc_is_upper_cased() -> None:
    assert normalize_uscc("91350100m000100y43") == "91350100M000100Y43"


def test_uscc_with_wrong_check_character_is_invalid() -> None:
    assert normalize_uscc("91350100M000100Y44") is None


@pytest.mark.parametrize("bad", list("IOSVZ"))
def test_uscc_with_excluded_letter_is_invalid(bad: str) -> None:
    # The letter sits in the body; whatever check character follows, the code is invalid.
    body = "91350100M000100" + bad + "4"
    assert all(normalize_uscc(body + c) is None for c in USCC_CHARS + bad)


@pytest.mark.parametrize(
    "value", ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100Y4-"]
)
def test_uscc_of_wrong_shape_is_invalid(value: str) -> None:
    assert normalize_uscc(value) is None


# ---------------------------------------------------------------- properties of the IDs

dates_1900_2100 = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    area = draw(st.text("0123456789", min_size=6, max_size=6))
    born = draw(birth_dates)
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = area + born.strftime("%Y%m%d") + seq
    return first17 + id_check(first17)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    first17 = draw(st.text(USCC_CHARS, min_size=17, max_size=17))
    return first17 + uscc_check(first17)


@given(valid_ids())
def test_any_id_with_real_date_and_computed_check_digit_is_valid(id18: str) -> None:
    assert normalize_id(id18) == id18
    assert birth_date(id18) == dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


@given(valid_ids(), st.integers(0, 17), st.integers(1, 9))
def test_changing_any_single_digit_invalidates_an_id(id18: str, pos: int, delta: int) -> None:
    chars = "0123456789X" if pos == 17 else "0123456789"
    old = chars.index(id18[pos])
    new = chars[(old + delta) % len(chars)]
    assert normalize_id(id18[:pos] + new + id18[pos + 1 :]) is None


@given(valid_ids())
def test_normalize_id_is_idempotent(id18: str) -> None:
    once = normalize_id(id18.lower())
    assert once is not None and normalize_id(once) == once


@given(valid_ids())
def test_fifteen_digit_form_upgrades_to_the_eighteen_digit_id(id18: str) -> None:
    if id18[6:8] != "19":
        return
    assert normalize_id(id18[:6] + id18[8:17]) == id18


@given(valid_usccs())
def test_any_uscc_with_computed_check_character_is_valid(code: str) -> None:
    assert normalize_uscc(code) == code
    assert normalize_uscc(code.lower()) == code


@given(valid_usccs(), st.integers(0, 17), st.integers(1, 30))
def test_changing_any_single_character_invalidates_a_uscc(code: str, pos: int, delta: int) -> None:
    new = USCC_CHARS[(USCC_CHARS.index(code[pos]) + delta) % 31]
    assert normalize_uscc(code[:pos] + new + code[pos + 1 :]) is None


# ---------------------------------------------------------------- folding and trimming


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_clean_is_idempotent(text: str) -> None:
    assert clean(clean(text)) == clean(text)


@given(st.text(alphabet=st.sampled_from(FULL_DIGITS + "0123456789　 \tＸｘ"), max_size=30))
def test_clean_leaves_no_full_width_digits_or_edge_spaces(text: str) -> None:
    out = clean(text)
    assert not any(c in FULL_DIGITS for c in out)
    assert out == out.strip(" \t\u3000")


@given(st.integers(0, 10**9))
def test_full_width_digits_fold_to_the_same_number(n: int) -> None:
    wide = "".join(FULL_DIGITS[int(d)] for d in str(n))
    assert clean(wide) == str(n)


def test_clean_trims_tabs_spaces_and_full_width_spaces() -> None:
    assert clean("\t　 张三 　\t") == "张三"
    assert clean(None) == ""


# ---------------------------------------------------------------- dates and numbers


def _excel_serial(d: dt.date) -> int:
    # Excel's 1900 date system counts 29 February 1900, which never was.
    if d < dt.date(1900, 3, 1):
        return (d - dt.date(1899, 12, 31)).days
    return (d - dt.date(1899, 12, 30)).days


DATE_FORMATS = {
    "iso": lambda d: d.isoformat(),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "compact": lambda d: d.strftime("%Y%m%d"),
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "serial": lambda d: str(_excel_serial(d)),
}


@pytest.mark.parametrize("fmt", sorted(DATE_FORMATS))
def test_parse_date_round_trips_every_date_1900_to_2100(fmt: str) -> None:
    # Exhaustive rather than sampled: 73,415 dates per format take well under a second.
    write = DATE_FORMATS[fmt]
    day, last, one = dt.date(1900, 1, 1), dt.date(2100, 12, 31), dt.timedelta(days=1)
    wrong = []
    while day <= last:
        if parse_date(write(day)) != day:
            wrong.append(write(day))
        day += one
    assert wrong == []


@pytest.mark.parametrize("fmt", sorted(DATE_FORMATS))
@given(d=dates_1900_2100)
def test_parse_date_round_trips_through_clean_of_full_width_text(fmt: str, d: dt.date) -> None:
    wide = str.maketrans("0123456789/-", "０１２３４５６７８９／－")
    assert parse_date(clean("\u3000" + DATE_FORMATS[fmt](d).translate(wide) + " ")) == d


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-06-30", dt.date(2025, 6, 30)),
        ("2025/6/30", dt.date(2025, 6, 30)),
        ("20250630", dt.date(2025, 6, 30)),
        ("2025年6月30日", dt.date(2025, 6, 30)),
        ("45838", dt.date(2025, 6, 30)),
        ("1", dt.date(1900, 1, 1)),
        ("61", dt.date(1900, 3, 1)),
        ("2025.6.30", dt.date(2025, 6, 30)),
        ("2025-06-30 14:30:00", dt.date(2025, 6, 30)),
        ("2025/6/30 9:05", dt.date(2025, 6, 30)),
    ],
)
def test_parse_date_reads_the_contract_examples(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["2025-02-30", "19990230", "2025年13月1日", "60", "0", "明天", "2025-06", ""]
)
def test_parse_date_rejects_what_is_not_a_real_date(text: str) -> None:
    assert parse_date(text) is None


@given(st.integers(-(10**12), 10**12))
def test_parse_number_reads_thousands_separators(n: int) -> None:
    assert parse_number(f"{n:,}") == n
    assert parse_number(str(n)) == n


@given(st.integers(0, 10**9), st.integers(0, 99))
def test_parse_number_reads_decimals_with_separators(whole: int, cents: int) -> None:
    assert parse_number(f"{whole:,}.{cents:02d}") == pytest.approx(whole + cents / 100)


@pytest.mark.parametrize(
    "text, expected", [("6,500元", 6500.0), ("1.2万", 12000.0), ("3套", 3.0), ("-12.5", -12.5)]
)
def test_parse_number_reads_units(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["三百", "", "12abc", "1.2.3", "万"])
def test_parse_number_rejects_what_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None
