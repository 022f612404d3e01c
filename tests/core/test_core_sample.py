"""Sample identity: parsing, formatting, ordering, grouping, registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.sample import Sample, group_by_method

# Every label form listed in API.md, with the fields it must give.
API_FORMS = [
    ("P-NCM", "P", None, "NCM", 0),
    ("A(3)-NCM", "A", 3.0, "NCM", 0),
    ("F(5)-NCM811", "F", 5.0, "NCM811", 0),
    ("F(1.5)-NCM", "F", 1.5, "NCM", 0),
    ("A(3)-NCM after 100 cycles", "A", 3.0, "NCM", 100),
    ("F(3)-NCM@100", "F", 3.0, "NCM", 100),
]


@pytest.mark.parametrize(("text", "method", "n", "cathode", "cycles"), API_FORMS)
def test_parse_api_forms(text: str, method: str, n: float | None, cathode: str, cycles: int) -> None:
    s = Sample.parse(text)
    assert s.method == method
    assert (s.n is None) if n is None else (s.n.to("min").magnitude == pytest.approx(n))
    assert s.cathode == cathode
    assert s.cycles == cycles
    assert s.coated == (method != "P")
    # round trip through the canonical label
    assert Sample.parse(str(s)) == s
    assert str(Sample.parse(str(s))) == str(s)


def test_canonical_labels() -> None:
    assert str(Sample.parse("A(3)-NCM after 100 cycles")) == "A(3)-NCM@100"
    assert Sample.parse("F(1.5)-NCM").label == "F(1.5)-NCM"
    assert Sample.parse("A(30 s)-NCM").label == "A(30 s)-NCM"
    assert Sample.parse("A(30 s)-NCM") == Sample.parse("A(0.5)-NCM")


def test_ordering_and_grouping() -> None:
    labels = ["F(1)-NCM", "A(3)-NCM", "P-NCM", "A(1)-NCM", "F(5)-NCM", "A(3)-NCM@100", "P-NCM@100"]
    ordered = [s.label for s in sorted(Sample.parse(t) for t in labels)]
    assert ordered == ["P-NCM", "P-NCM@100", "A(1)-NCM", "A(3)-NCM", "A(3)-NCM@100", "F(1)-NCM", "F(5)-NCM"]
    groups = group_by_method(Sample.parse(t) for t in labels)
    assert list(groups) == ["P", "A", "F"]
    assert [s.label for s in groups["F"]] == ["F(1)-NCM", "F(5)-NCM"]


def test_hashable_and_frozen() -> None:
    a, b = Sample.parse("A(3)-NCM"), Sample("A", 3)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.method = "F"  # type: ignore[misc]


def test_cycles_argument() -> None:
    assert Sample.parse("A(3)-NCM", cycles=100).cycles == 100
    with pytest.raises(ns.ValidationError, match="states 100 cycles"):
        Sample.parse("A(3)-NCM@100", cycles=50)


@pytest.mark.parametrize("bad", ["", "NCM", "X(3)-NCM", "A(3)", "A(-)-NCM", "P(3)-NCM", "A(3)-NCM@x", "A(3 blorp)-NCM"])
def test_bad_labels(bad: str) -> None:
    with pytest.raises(ns.ValidationError):
        Sample.parse(bad)


def test_unknown_code_lists_registered() -> None:
    with pytest.raises(ns.ValidationError) as err:
        Sample.parse("Q(2)-NCM")
    msg = str(err.value)
    assert "unknown method code 'Q'" in msg
    for code in ("P", "A", "F"):
        assert f"{code} (" in msg


def test_register_method() -> None:
    ns.register_method("S", "spray coating")
    assert ns.methods()["S"] == "spray coating"
    s = Sample.parse("S(2)-NCM")
    assert s.method == "S" and s.coated
    assert sorted([s, Sample.parse("F(9)-NCM")])[0].method == "F"  # registered later sorts later
    with pytest.raises(ns.ValidationError):
        ns.register_method("P", "something else")
    with pytest.raises(ns.ValidationError):
        ns.register_method("bad code", "x")


def test_bad_fields() -> None:
    with pytest.raises(ns.ValidationError, match="cycles"):
        Sample("A", 3, "NCM", -1)
    with pytest.raises(ns.ValidationError, match="n:"):
        Sample("A", -3)
    with pytest.raises(ns.ValidationError, match="pristine"):
        Sample("P", 3)
    with pytest.raises(ns.ValidationError, match="cathode"):
        Sample("A", 3, "1NCM")


def test_quantity_n() -> None:
    s = Sample("F", ns.ureg.Quantity(120, "s"))
    assert s.n_minutes == pytest.approx(2.0)
    assert Sample.parse(str(s)) == s


numbers = st.one_of(st.integers(0, 500).map(float), st.floats(0.01, 500, allow_nan=False).map(lambda x: round(x, 3)))


@given(method=st.sampled_from(["P", "A", "F"]), n=numbers, cathode=st.sampled_from(["NCM", "NCM811", "NCM622"]),
       cycles=st.integers(0, 5000))
def test_parse_format_roundtrip_property(method: str, n: float, cathode: str, cycles: int) -> None:
    s = Sample(method, None if method == "P" else n, cathode, cycles)
    assert Sample.parse(str(s)) == s
    text_after = f"{s.label.split('@')[0]} after {cycles} cycles"
    assert Sample.parse(text_after) == s


@given(st.lists(st.tuples(st.sampled_from(["P", "A", "F"]), st.integers(1, 9), st.integers(0, 200)), min_size=2,
                max_size=8))
def test_ordering_is_total_property(items: list[tuple[str, int, int]]) -> None:
    samples = [Sample(m, None if m == "P" else n, "NCM", c) for m, n, c in items]
    ordered = sorted(samples)
    for a, b in zip(ordered, ordered[1:]):
        assert a <= b
        assert not (b < a)
    ranks = {"P": 0, "A": 1, "F": 2}
    assert [ranks[s.method] for s in ordered] == sorted(ranks[s.method] for s in ordered)
