"""The vectorized ID check must agree with the scalar one on every input."""

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ids import id_check_digit, normalize_id, normalize_ids
from analytics.textnorm import clean, clean_column

digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


@st.composite
def written_ids(draw: st.DrawFn) -> str:
    first = draw(digits17)
    kind = draw(st.sampled_from(["valid", "valid_x", "wrong", "fifteen", "junk"]))
    if kind == "valid":
        return first + id_check_digit(first)
    if kind == "valid_x":
        check = id_check_digit(first)
        return first + (check.lower() if check == "X" else check)
    if kind == "wrong":
        return first + draw(st.sampled_from("0123456789Xx"))
    if kind == "fifteen":
        return first[:15]
    return draw(st.text(min_size=0, max_size=20))


@settings(max_examples=300)
@given(st.lists(written_ids(), max_size=40))
def test_normalize_ids_agrees_with_normalize_id(values: list[str]) -> None:
    assert normalize_ids(values) == [normalize_id(v) for v in values]


def test_normalize_ids_checks_real_birth_dates() -> None:
    leap = "11010520000229002"  # 2000 was a leap year
    common = "11010519000229002"  # 1900 was not
    assert normalize_ids([leap + id_check_digit(leap), common + id_check_digit(common)]) == [
        leap + id_check_digit(leap),
        None,
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(
                list("ab1２３ＸＹ　 \t张三,，-\r\n") + ["\u00a0", "\ufeff", "\u200b"]
            ),
            max_size=12,
        ),
        max_size=30,
    )
)
def test_clean_column_agrees_with_clean(values: list[str]) -> None:
    assert list(clean_column(values)) == [clean(v) for v in values]
