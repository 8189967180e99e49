"""Filter values as operators type them, resolved to the values the index holds."""

from __future__ import annotations

import pytest

from answer_service.filters import MAX_EXPANSION, FacetResolver, FacetValues
from search.errors import SearchError
from search.index.protocol import tally_facets

AGENCIES = {
    "Sở Tư pháp tỉnh Gia Lai": 40,
    "Sở Tư pháp tỉnh Đắk Lắk": 38,
    "Ủy ban nhân dân cấp xã": 300,
    "Bộ Tư pháp": 12,
}
LEVELS = {"Cấp bộ": 10, "Cấp tỉnh": 20, "Cấp xã": 30, "Cơ quan khác": 2}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Cấp tỉnh", ["Cấp tỉnh"]),
        ("cấp   TỈNH", ["Cấp tỉnh"]),
        ("cap tinh", ["Cấp tỉnh"]),
        ("Ca\u0302\u0301p ti\u0309nh", ["Cấp tỉnh"]),  # decomposed, as some keyboards send it
        ("tỉnh", ["Cấp tỉnh"]),
        ("co quan khac", ["Cơ quan khác"]),
    ],
)
def test_a_level_is_found_however_it_is_typed(typed: str, expected: list[str]) -> None:
    assert FacetValues("levels", LEVELS).resolve(typed) == expected


def test_part_of_a_name_stands_for_every_value_that_contains_it_as_words() -> None:
    agencies = FacetValues("agency", AGENCIES)

    assert sorted(agencies.resolve("sở tư pháp")) == [
        "Sở Tư pháp tỉnh Gia Lai",
        "Sở Tư pháp tỉnh Đắk Lắk",
    ]
    assert sorted(agencies.resolve("tu phap")) == sorted(
        ["Sở Tư pháp tỉnh Gia Lai", "Sở Tư pháp tỉnh Đắk Lắk", "Bộ Tư pháp"]
    )
    # Whole words only: "Tư ph" is not the start of a word run in any value.
    assert agencies.resolve("Tư ph") == []
    # "dak lak" finds the value written with "Đắk Lắk".
    assert agencies.resolve("dak lak") == ["Sở Tư pháp tỉnh Đắk Lắk"]


def test_a_value_stands_for_every_value_holding_its_words_in_any_order() -> None:
    values = FacetValues(
        "agency",
        {
            "Sở Tư pháp": 61,
            "Sở Tư pháp Thành phố Hà Nội": 3,
            "Cục Cảnh sát giao thông, Sở Tư pháp": 2,
            "Thi đua – Khen thưởng": 10,
        },
    )

    assert values.resolve("sở tư pháp") == [
        "Sở Tư pháp",
        "Sở Tư pháp Thành phố Hà Nội",
        "Cục Cảnh sát giao thông, Sở Tư pháp",
    ]
    assert values.resolve("sở tư pháp hà nội") == ["Sở Tư pháp Thành phố Hà Nội"]
    assert values.resolve("thi đua khen thưởng") == ["Thi đua – Khen thưởng"]


def test_words_typed_with_diacritics_are_compared_with_them() -> None:
    values = FacetValues("field", {"Thuế": 140, "Cho thuê tài chính": 4})

    assert values.resolve("thuê") == ["Cho thuê tài chính"]
    assert values.resolve("Thuế") == ["Thuế"]
    assert values.resolve("thue") == ["Thuế", "Cho thuê tài chính"]


@pytest.mark.parametrize("typed", ["-", "*", "–", "  ", "!!!"])
def test_a_value_without_words_is_refused(typed: str) -> None:
    with pytest.raises(SearchError, match="has no words"):
        FacetValues("agency", {"-": 1, "Bộ Tư pháp": 2}).resolve(typed)


def test_a_value_of_common_words_only_is_refused() -> None:
    with pytest.raises(SearchError, match="only common words"):
        FacetValues("field", {"Văn hóa và Thể thao": 3}).resolve("và")


def test_a_long_value_is_not_repeated_whole_in_the_error() -> None:
    resolver = FacetResolver(lambda: {"field": {"Hộ tịch": 1}, "levels": {}, "agency": {}})

    with pytest.raises(SearchError) as raised:
        resolver.resolve("field", ["xyz " * 500])

    assert len(raised.value.detail) < 300


def test_a_vague_value_is_refused_rather_than_matching_everything() -> None:
    many = {f"Ủy ban nhân dân xã số {n}": 1 for n in range(MAX_EXPANSION + 1)}

    with pytest.raises(SearchError, match="matches 101 values"):
        FacetValues("agency", many).resolve("ủy ban nhân dân")


def test_an_unknown_value_names_the_closest_ones() -> None:
    def read() -> dict[str, dict[str, int]]:
        return {"field": {"Hộ tịch": 5, "Quốc tịch": 2}, "levels": LEVELS, "agency": {}}

    resolver = FacetResolver(read)
    with pytest.raises(SearchError) as raised:
        resolver.resolve("field", ["hộ tich cá nhân"])

    assert raised.value.error_code.http_status == 422
    assert "Hộ tịch" in raised.value.detail and "/v1/facets" in raised.value.detail


def test_a_value_a_sync_just_added_is_found_after_one_fresh_read() -> None:
    now = [0.0]
    fields = {"Hộ tịch": 5}

    def read() -> dict[str, dict[str, int]]:
        return {"field": dict(fields), "levels": {}, "agency": {}}

    resolver = FacetResolver(read, max_age_s=300, retry_after_s=10, clock=lambda: now[0])
    assert resolver.resolve("field", ["Hộ tịch"]) == ["Hộ tịch"]

    fields["Thư viện"] = 1
    now[0] = 11.0  # older than retry_after_s, younger than max_age_s
    assert resolver.resolve("field", ["thu vien"]) == ["Thư viện"]


def test_unknown_values_do_not_make_every_request_read_the_index() -> None:
    reads: list[float] = []
    now = [0.0]

    def read() -> dict[str, dict[str, int]]:
        reads.append(now[0])
        return {"field": {"Hộ tịch": 5}, "levels": {}, "agency": {}}

    resolver = FacetResolver(read, retry_after_s=10, clock=lambda: now[0])
    for second in range(5):
        now[0] = float(second)
        with pytest.raises(SearchError):
            resolver.resolve("field", ["không có"])

    assert reads == [0.0]


def test_several_typed_values_resolve_to_their_union_in_order() -> None:
    resolver = FacetResolver(lambda: {"field": {}, "levels": LEVELS, "agency": AGENCIES})

    assert resolver.resolve("levels", ["cap xa", "Cấp xã", "cấp tỉnh"]) == ["Cấp xã", "Cấp tỉnh"]
    assert resolver.resolve("levels", []) == []


def test_facets_count_documents_not_points() -> None:
    payloads = [
        {"doc_id": "a", "field": "Hộ tịch", "levels": ["Cấp xã", "Cấp tỉnh"], "agency": "X"},
        {"doc_id": "a", "field": "Hộ tịch", "levels": ["Cấp xã"], "agency": "X"},
        {"doc_id": "b", "field": "Hộ tịch", "levels": ["Cấp xã"], "agency": ""},
        {"doc_id": "c", "field": "Đất đai"},
    ]

    counts = tally_facets(payloads)

    assert counts["field"] == {"Hộ tịch": 2, "Đất đai": 1}
    assert list(counts["field"]) == ["Hộ tịch", "Đất đai"]  # most first
    assert counts["levels"] == {"Cấp xã": 2, "Cấp tỉnh": 1}
    assert counts["agency"] == {"X": 1}
    assert counts["doc_kind"] == {}
