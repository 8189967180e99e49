import json
import re
import unicodedata

import pytest

from search.text.lexical import LexicalAnalyzer, SparseEncoder, token_index
from search.text.restore import DiacriticRestorer
from search.text.synonyms import SynonymDictionary
from search.text.vietnamese import clean_text, fold_accents, has_diacritics, normalize_tone_marks


class TestCleanText:
    def test_nfc_composes_decomposed_input(self) -> None:
        decomposed = unicodedata.normalize("NFD", "Thủ tục cấp hộ chiếu")
        assert clean_text(decomposed) == "Thủ tục cấp hộ chiếu"

    @pytest.mark.parametrize(
        ("new_style", "old_style"),
        [("hoà", "hòa"), ("thuý", "thúy"), ("khoẻ", "khỏe"), ("Hoá", "Hóa"), ("toà án", "tòa án")],
    )
    def test_one_tone_mark_convention(self, new_style: str, old_style: str) -> None:
        assert normalize_tone_marks(new_style) == old_style
        assert normalize_tone_marks(old_style) == old_style

    @pytest.mark.parametrize(
        ("new_style", "old_style"),
        [
            ("HOÀ BÌNH", "HÒA BÌNH"),
            ("Thuỷ lợi, xoá nợ", "Thủy lợi, xóa nợ"),
            ("sức khoẻ.", "sức khỏe."),
            ("hoà1", "hòa1"),
        ],
    )
    def test_the_convention_holds_in_any_case_and_beside_punctuation(
        self, new_style: str, old_style: str
    ) -> None:
        assert normalize_tone_marks(new_style) == old_style
        assert clean_text(unicodedata.normalize("NFD", new_style)) == old_style

    @pytest.mark.parametrize("word", ["hoàng", "quý", "quả", "ngoài", "thuyết"])
    def test_unambiguous_syllables_are_left_alone(self, word: str) -> None:
        assert normalize_tone_marks(word) == word

    def test_html_and_whitespace(self) -> None:
        assert (
            clean_text("<p>Cấp&nbsp;<b>hộ</b>   chiếu</p>\r\n\r\n\r\nxong")
            == "Cấp hộ chiếu\n\nxong"
        )


def test_fold_accents_handles_d_with_stroke() -> None:
    assert fold_accents("Đăng ký đất đai") == "Dang ky dat dai"


def test_has_diacritics() -> None:
    assert has_diacritics("đăng ký")
    assert not has_diacritics("dang ky khai sinh")


class TestLexicalAnalyzer:
    def test_unaccented_and_accented_share_tokens(self) -> None:
        analyzer = LexicalAnalyzer(segment=False)
        accented = analyzer.tokens("thủ tục cấp hộ chiếu").counts
        plain = analyzer.tokens("thu tuc cap ho chieu").counts
        assert accented == plain
        assert plain["ho chieu"] == 1

    def test_segmentation_adds_compound_words(self) -> None:
        tokens = LexicalAnalyzer(segment=True).tokens("Thủ tục cấp hộ chiếu phổ thông").counts
        assert tokens["ho_chieu"] == 1

    def test_bigrams_do_not_cross_punctuation(self) -> None:
        tokens = LexicalAnalyzer(segment=False).tokens("hộ chiếu. Khai sinh").counts
        assert "chieu khai" not in tokens

    def test_query_stop_syllables_are_dropped_alone(self) -> None:
        tokens = LexicalAnalyzer(segment=False).tokens(
            "tôi muốn hỏi hộ chiếu", drop_stop_syllables=True
        )
        assert "toi" not in tokens.counts
        assert "ho" in tokens.counts


class TestSparseEncoder:
    def test_longer_chunks_weigh_terms_less(self) -> None:
        analyzer = LexicalAnalyzer(segment=False)
        encoder = SparseEncoder(average_length=10)
        short = encoder.encode_document(analyzer.tokens("hộ chiếu"))
        long_ = encoder.encode_document(analyzer.tokens("hộ chiếu " + "và " * 40))
        idx = token_index("chieu")
        assert short.values[short.indices.index(idx)] > long_.values[long_.indices.index(idx)]

    def test_indices_sorted_and_unique(self) -> None:
        vector = SparseEncoder.encode_query([("a", 1.0), ("b", 0.5), ("a", 0.3)])
        assert vector.indices == sorted(set(vector.indices))
        assert len(vector.indices) == 2

    @pytest.mark.parametrize("kwargs", [{"k1": 0}, {"b": 1.5}, {"average_length": 0}])
    def test_bad_parameters_raise(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            SparseEncoder(**kwargs)


class TestSynonymDictionary:
    def test_abbreviations_expand(self) -> None:
        synonyms = SynonymDictionary.load()
        assert "căn cước công dân" in synonyms.expansions("làm lại CCCD ở đâu")
        assert "giấy phép lái xe" in synonyms.expansions("đổi gplx")

    def test_everyday_name_matches_without_diacritics(self) -> None:
        synonyms = SynonymDictionary.load()
        expected = "giấy chứng nhận quyền sử dụng đất"
        assert expected in synonyms.expansions("lam so do mat bao lau")
        assert expected in synonyms.expansions("làm sổ đỏ")
        assert expected not in synonyms.expansions("vẽ sơ đồ nhà")

    def test_works_on_a_house_are_works_on_a_small_building(self) -> None:
        synonyms = SynonymDictionary.load()
        small = "công trình cấp III, cấp IV"
        for text in (
            "nhà tôi muốn nâng thêm một tầng và sửa lại mặt tiền",
            "nha toi muon nang them 1 tang",
        ):
            expansions = synonyms.expansions(text)
            assert small in expansions, text
            assert "giấy phép xây dựng sửa chữa, cải tạo" in expansions, text
        # Building a house is often only why land is converted or merged: no class of works.
        assert small not in synonyms.expansions("gộp hai thửa đất để xây nhà")

    def test_a_term_is_found_with_its_abbreviations_spelled_out(self) -> None:
        synonyms = SynonymDictionary.load()
        # "mua bảo hiểm y tế" is an entry; the citizen wrote its last words as "bhyt".
        for text in ("mua bhyt hộ gia đình cho bố mẹ", "mua BHYT ho gia dinh cho bo me"):
            assert "đăng ký đóng, cấp thẻ bhyt" in synonyms.expansions(text), text
        assert "đăng ký đóng, cấp thẻ bhyt" not in synonyms.expansions("thẻ bhyt hết hạn")

    def test_editor_changes_are_reloaded(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "syn.json"
        path.write_text('{"entries": [{"term": "XYZ", "means": ["một"]}]}', encoding="utf-8")
        synonyms = SynonymDictionary.load(path)
        assert synonyms.expansions("xyz") == ["một"]
        path.write_text('{"entries": [{"term": "XYZ", "means": ["hai"]}]}', encoding="utf-8")
        import os

        os.utime(path, (1, 1))
        assert synonyms.reload_if_changed()
        assert synonyms.expansions("xyz") == ["hai"]

    def test_capital_abbreviations_in_a_document_are_spelled_out(self) -> None:
        synonyms = SynonymDictionary.load()
        name = "Giải quyết hưởng trợ cấp nghỉ DSPHSK sau ốm đau, thai sản, TNLĐ, BNN"
        assert synonyms.abbreviations_in(name) == [
            "tai nạn lao động",
            "bệnh nghề nghiệp",
            "dưỡng sức phục hồi sức khỏe",
        ]
        assert synonyms.spell_out(name) == (
            "Giải quyết hưởng trợ cấp nghỉ dưỡng sức phục hồi sức khỏe sau ốm đau, thai sản, "
            "tai nạn lao động, bệnh nghề nghiệp"
        )

    def test_document_abbreviations_need_capitals_and_whole_words(self) -> None:
        synonyms = SynonymDictionary.load()
        # Lower case is a citizen's chat, not a document's abbreviation; "BNNX" is another word.
        assert synonyms.abbreviations_in("bnn, tnlđ và BNNX") == []
        assert synonyms.spell_out("bnn, tnlđ và BNNX") == "bnn, tnlđ và BNNX"
        # Entries written in lower case ("sổ đỏ", "ko") are never spelled out in documents.
        assert synonyms.abbreviations_in("sổ đỏ ko") == []

    def test_documents_take_only_the_first_meaning(self) -> None:
        synonyms = SynonymDictionary.load()
        assert synonyms.abbreviations_in("Bản sao CMND") == ["chứng minh nhân dân"]
        # "CMT" means the same: the words are added once.
        assert synonyms.abbreviations_in("Bản sao CMND hoặc CMT") == ["chứng minh nhân dân"]
        assert "căn cước" in synonyms.expansions("Bản sao CMND")

    def test_a_reloaded_dictionary_spells_out_anew(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "syn.json"
        path.write_text('{"entries": [{"term": "XYZ", "means": ["một"]}]}', encoding="utf-8")
        synonyms = SynonymDictionary.load(path)
        assert synonyms.spell_out("giấy XYZ") == "giấy một"
        path.write_text('{"entries": [{"term": "XYZ", "means": ["hai"]}]}', encoding="utf-8")
        import os

        os.utime(path, (1, 1))
        assert synonyms.reload_if_changed()
        assert synonyms.spell_out("giấy XYZ") == "giấy hai"

    def test_invalid_file_is_a_configuration_error(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        from search.errors import ConfigurationError

        path = tmp_path / "bad.json"
        path.write_text('{"entries": [{"term": "x"}]}', encoding="utf-8")
        with pytest.raises(ConfigurationError, match="not valid"):
            SynonymDictionary.load(path)

    @pytest.mark.parametrize(
        ("entry", "problem"),
        [
            ({"term": "HĐLĐ", "means": "hợp đồng lao động"}, "no list of meanings"),
            ({"term": None, "means": ["x"]}, "no term"),
            ({"term": "<br>", "means": ["x"]}, "no term"),  # markup cleans away to nothing
            ({"term": "x", "means": [" "]}, "a meaning that is not text"),
            ({"term": "x", "means": [3]}, "a meaning that is not text"),
        ],
    )
    def test_a_bad_entry_is_named(self, tmp_path, entry: dict, problem: str) -> None:  # type: ignore[no-untyped-def]
        from search.errors import ConfigurationError

        path = tmp_path / "bad.json"
        good = {"term": "CCCD", "means": ["căn cước công dân"]}
        path.write_text(json.dumps({"entries": [good, entry]}), encoding="utf-8")
        with pytest.raises(ConfigurationError, match=f"entry 2 .*{problem}"):
            SynonymDictionary.load(path)

    def test_a_service_starts_on_the_packaged_dictionary_when_the_file_is_broken(
        self, tmp_path
    ) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "synonyms.json"
        path.write_text('{"entries": [', encoding="utf-8")
        synonyms = SynonymDictionary.load_or_packaged(path)
        assert synonyms.path == path and "not valid JSON" in (synonyms.load_error or "")
        assert "căn cước công dân" in synonyms.expansions("mất CCCD")
        path.write_text(json.dumps({"entries": [{"term": "xyzq", "means": ["một"]}]}))
        assert synonyms.reload_if_changed() and synonyms.load_error is None
        assert synonyms.expansions("xyzq") == ["một"]
        missing = SynonymDictionary.load_or_packaged(tmp_path / "none.json")
        assert "does not exist" in (missing.load_error or "")


def _expansions_by_pattern(synonyms: SynonymDictionary, text: str) -> list[str]:
    """The dictionary's matching as regular expressions, one per term: the reference."""
    from search.text.synonyms import _pattern

    cleaned = clean_text(text).lower()
    folded = fold_accents(cleaned)
    if has_diacritics(cleaned):
        candidates = [(e, clean_text(e.term).lower(), cleaned) for e in synonyms.entries]
        candidates += [
            (e, fold_accents(clean_text(e.term)).lower(), folded)
            for e in synonyms.entries
            if not has_diacritics(e.term)
        ]
    else:
        candidates = [
            (e, fold_accents(clean_text(e.term)).lower(), cleaned) for e in synonyms.entries
        ]
    spelled, spans = synonyms.abbreviations_spelled(cleaned)
    if spans:
        spelled = spelled.lower() if has_diacritics(cleaned) else fold_accents(spelled).lower()
        candidates += [
            (e, clean_text(e.term).lower(), spelled)
            if has_diacritics(cleaned)
            else (e, fold_accents(clean_text(e.term)).lower(), spelled)
            for e in synonyms.entries
        ]
    found: list[str] = []
    for entry, term, haystack in candidates:
        if _pattern(term).search(haystack):
            found.extend(m for m in entry.means if m not in found)
    return found


def test_term_lookup_finds_what_the_patterns_find() -> None:
    from answer_service.evaluation import HELDOUT_QUESTIONS, load_dev_questions

    synonyms = SynonymDictionary.load()
    texts = [q.text for q in load_dev_questions(HELDOUT_QUESTIONS)]
    texts += [
        "mất CCCD, làm lại ở đâu?",
        "sổ  đỏ (hai dấu cách) và sổ đỏ",
        "cavẹt cà vẹt_xe sổ kt3 mẫu ct07.",
        "BHXH/BHYT;GPLX-hạng A1",
        "",
    ]
    texts += [fold_accents(t) for t in texts]
    for text in texts:
        assert synonyms.expansions(text) == _expansions_by_pattern(synonyms, text), text
    assert sum(bool(synonyms.expansions(t)) for t in texts) > len(texts) // 2  # not vacuous


class TestDiacriticRestorer:
    CORPUS = [
        "Thủ tục cấp hộ chiếu phổ thông ở trong nước",
        "Cấp lại hộ chiếu phổ thông bị mất",
        "Đăng ký khai sinh cho trẻ em",
        "Đăng ký khai sinh có yếu tố nước ngoài",
        "Hồ sơ gồm tờ khai và bản sao giấy tờ",
    ]

    def test_restores_from_corpus_vocabulary(self) -> None:
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert restorer.restore("cap ho chieu pho thong") == "cấp hộ chiếu phổ thông"
        assert restorer.restore("dang ky khai sinh") == "đăng ký khai sinh"

    def test_everyday_phrases_are_restored(self) -> None:
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert restorer.restore("dang ky khai sinh the nao") == "đăng ký khai sinh thế nào"
        bare = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1, everyday_path=None)
        assert bare.restore("the nao") == "the nao"

    def test_unknown_words_stay_as_typed(self) -> None:
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert restorer.restore("xyzzy khai sinh") == "xyzzy khai sinh"

    def test_case_punctuation_and_spacing_are_kept(self) -> None:
        # The embedding model reads case and punctuation: "TNHH" is not "tnhh" to it.
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert (
            restorer.restore("Cap lai HO CHIEU, the nao?  Dang ky khai sinh.")
            == "Cấp lại HỘ CHIẾU, thế nào?  Đăng ký khai sinh."
        )

    def test_a_word_without_diacritics_to_add_keeps_its_own_case(self) -> None:
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert restorer.restore("cap lai VNeID, iPhone") == "cấp lại VNeID, iPhone"

    def test_phrases_are_restored_apart(self) -> None:
        # "hộ chiếu" must not be read across a full stop: "ho. chieu" are two phrases, and a
        # one-word phrase falls back on the word's own frequency.
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        together = restorer._restore_words(["ho", "chieu"])
        assert together == ["hộ", "chiếu"]
        assert restorer.restore("ho. chieu") == (
            f"{restorer._restore_words(['ho'])[0]}. {restorer._restore_words(['chieu'])[0]}"
        )

    def test_nothing_to_restore(self) -> None:
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        assert restorer.restore("") == ""
        assert restorer.restore("?!") == "?!"

    def test_everyday_speech_outweighs_formal_look_alikes(self) -> None:
        # Formal texts write "bản" (bản sao) and "có" far more than "bạn" and "cô"; the everyday
        # text knows how people speak of their partners, and that chat's "e" is "em".
        corpus = [*self.CORPUS, "Giấy chứng nhận, chứng thực bản sao"]
        restorer = DiacriticRestorer.build(corpus, min_bigram_count=1)
        assert restorer.restore("toi sap cuoi vo") == "tôi sắp cưới vợ"
        assert restorer.restore("ban gai toi") == "bạn gái tôi"
        assert restorer.restore("co ay la nguoi nhat") == "cô ấy là người nhật"
        assert restorer.restore("cho e hoi") == "cho e hỏi"

    def test_save_and_load(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        restorer = DiacriticRestorer.build(self.CORPUS, min_bigram_count=1)
        restorer.save(tmp_path / "lex.json.gz")
        loaded = DiacriticRestorer.load(tmp_path / "lex.json.gz")
        assert loaded.restore("ho chieu") == restorer.restore("ho chieu")


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("5.002578", ["5.002578"]),
        ("thủ tục 6.003632 ở đâu", ["6.003632"]),
        ("mã 1.000948.h38", ["1.000948.H38"]),
        ("6 tuổi", []),
        ("thủ tục 1,001193 là gì", ["1.001193"]),
        ("1.001193,1.000757", ["1.001193", "1.000757"]),
        ("lệ phí 1,000,000 đồng", []),
        ("số 2,5 và 1.0011930", []),
    ],
)
def test_procedure_codes_of_every_family_are_detected(text: str, codes: list[str]) -> None:
    from search.query import QueryAnalyzer

    analyzed = QueryAnalyzer(synonyms=SynonymDictionary.load()).analyze(text)
    assert analyzed.codes == codes


@pytest.mark.parametrize(
    "text",
    [
        "muốn xây nhà 3 tầng trên mảnh đất đã có sổ đỏ, xin giấy phép xây dựng ở đâu",
        "muon xay nha 3 tang tren manh dat da co so do, xin giay phep xay dung o dau",
        "đất mới được cấp sổ đỏ, giờ xin giấy phép xây dựng nhà ở đâu",
        "dat vua duoc cap so do, gio xin giay phep xay dung nha o dau",
    ],
)
def test_what_the_citizen_already_holds_brings_no_meanings(text: str) -> None:
    from search.query import QueryAnalyzer

    analyzed = QueryAnalyzer(synonyms=SynonymDictionary.load()).analyze(text)
    assert "giấy chứng nhận quyền sử dụng đất" not in analyzed.expansions
    assert "cấp giấy phép xây dựng" in analyzed.expansions
    asked = QueryAnalyzer(synonyms=SynonymDictionary.load()).analyze("làm sổ đỏ ở đâu")
    assert "giấy chứng nhận quyền sử dụng đất" in asked.expansions


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("khai sinh cho con cần mang theo những giấy tờ gì?", "khai sinh cho con cần"),
        ("dang ky ket hon thi ho so gom nhung gi", "dang ky ket hon thi"),
        ("đổi bằng lái xe cần giấy tờ gì, nộp ở đâu", "đổi bằng lái xe , nộp ở đâu"),
        ("chuyển hồ sơ học sinh sang trường khác", "chuyển hồ sơ học sinh sang trường khác"),
        ("nộp hồ sơ ở đâu", "nộp hồ sơ ở đâu"),
        # What it costs and how long it takes are asked of every procedure as well.
        ("làm hộ chiếu cho con mất bao nhiêu tiền", "làm hộ chiếu cho con"),
        ("lam ho chieu het bao nhieu, mat may ngay", "lam ho chieu"),
        ("đăng ký kết hôn có mất phí không", "đăng ký kết hôn có , không"),
        # "mặt tiền" (a house's front) folds to the words of "mất tiền".
        ("sửa lại mặt tiền nhà có mất tiền không", "sửa lại mặt tiền nhà có , không"),
    ],
)
def test_what_a_question_asks_of_a_procedure_is_not_what_it_names(text: str, left: str) -> None:
    from search.query import without_asked

    assert re.sub(r"\s*,[\s,]*", " , ", without_asked(text)).strip(" ,?") == left


def test_the_words_of_what_is_asked_weigh_little() -> None:
    from search.query import _ASKED_WEIGHT, QueryAnalyzer

    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    for text in ("khai sinh cho con cần những giấy tờ gì", "khai sinh cho con can giay to gi"):
        weights = dict(analyzer.sparse_tokens(analyzer.analyze(text)))
        assert weights["giay to"] == _ASKED_WEIGHT < weights["khai sinh"] == 1.0, text


def test_kept_phrase_tokens_weigh_as_fresh_ones() -> None:
    from search.query import QueryAnalyzer

    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    text = "đổi gplx bị mất cần những giấy tờ gì"
    analyzed = analyzer.analyze(text)
    assert analyzed.expansions  # the abbreviation is read out
    first = analyzer.sparse_tokens(analyzed)
    hits_before = analyzer._phrase_tokens.cache_info().hits
    again = analyzer.sparse_tokens(analyzer.analyze(text))
    assert analyzer._phrase_tokens.cache_info().hits > hits_before
    assert again == first
    fresh = QueryAnalyzer(synonyms=SynonymDictionary.load())
    fresh._phrase_tokens = fresh._tokens  # no cache at all
    assert fresh.sparse_tokens(fresh.analyze(text)) == first


@pytest.mark.parametrize(
    "text",
    [
        "hai đứa mình đều quốc tịch Việt Nam, đăng ký kết hôn ở xã nào",
        "chồng tôi quốc tịch Hàn Quốc, con sinh ở Việt Nam làm khai sinh thế nào",
    ],
)
def test_a_nationality_said_in_passing_brings_no_nationality_procedure(text: str) -> None:
    # Who holds which nationality is the setting of most questions about a foreign element; the
    # nationality procedures are asked for by what is done with one ("nhập", "thôi", "xin").
    from search.query import QueryAnalyzer

    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    assert not any("quốc tịch" in e for e in analyzer.analyze(text).expansions)
    assert "nhập quốc tịch việt nam" in analyzer.analyze("xin nhập quốc tịch").expansions


def test_a_card_described_by_its_chip_is_not_a_card_to_exchange() -> None:
    from search.query import QueryAnalyzer

    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    expansions = analyzer.analyze("bị móc túi mất thẻ căn cước gắn chip, làm lại ở đâu").expansions
    assert "thẻ căn cước" in expansions and "cấp đổi thẻ căn cước" not in expansions


def test_a_long_query_is_cut_at_a_word() -> None:
    from search.query import MAX_QUERY_CHARS, QueryAnalyzer
    from search.text.synonyms import SynonymDictionary

    analyzer = QueryAnalyzer(synonyms=SynonymDictionary.load())
    text = "hộ chiếu " * (MAX_QUERY_CHARS // 9 + 50)
    assert (len(text) - MAX_QUERY_CHARS) % 9 not in (0, 5)  # the cut falls inside a word
    analyzed = analyzer.analyze(text)
    assert analyzed.text.startswith("hộ chiếu") or analyzed.text.startswith("chiếu")
    assert len(analyzed.text) <= MAX_QUERY_CHARS
    # A tail that is one long word is kept rather than emptied.
    assert analyzer.analyze("a" * (MAX_QUERY_CHARS + 10)).text == "a" * MAX_QUERY_CHARS


class TestFoldedTermsInContext:
    """A dictionary term found in a text typed without diacritics is kept only where its
    reading may stand beside its neighbours (``DiacriticRestorer.reading_fits``)."""

    @pytest.fixture
    def restorer(self) -> DiacriticRestorer:
        # "hộ chiếu" is a set phrase (it holds most of "chiếu"); "đổi họ" is never written
        # beside "chiếu"; "do bị" is common, but "bị" goes with much else; "ô tô" is itself a
        # set phrase; "chỗ ở" holds much of "chỗ".
        unigrams = {
            "hộ": 900, "họ": 120, "chiếu": 850, "đổi": 400, "cho": 2000, "con": 900,
            "sổ": 60, "đỏ": 20, "do": 1500, "bị": 3000, "mất": 700, "ô": 400, "tô": 400,
            "ở": 1200, "chỗ": 200, "lại": 900, "làm": 800,
        }  # fmt: skip
        bigrams = {
            "hộ chiếu": 823, "thay đổi": 300, "đổi họ": 3, "họ cho": 2, "do bị": 120,
            "sổ đỏ": 4, "ô tô": 390, "chỗ ở": 77, "làm lại": 22, "lại sổ": 2, "đỏ bị": 1,
        }  # fmt: skip
        return DiacriticRestorer(unigrams, bigrams, everyday_path=None)

    @pytest.fixture
    def synonyms(self) -> SynonymDictionary:
        from search.text.synonyms import SynonymEntry

        return SynonymDictionary(
            [
                SynonymEntry(term="đổi họ", means=("cải chính hộ tịch",)),
                SynonymEntry(term="sổ đỏ", means=("giấy chứng nhận quyền sử dụng đất",)),
                SynonymEntry(term="ô tô", means=("xe ô tô",)),
                SynonymEntry(term="CCCD", means=("căn cước công dân",)),
            ]
        )

    @pytest.mark.parametrize(
        ("text", "kept"),
        [
            ("doi ho chieu", []),
            ("cap doi ho chieu het han", []),
            ("doi ho cho con", ["cải chính hộ tịch"]),
            ("doi ho", ["cải chính hộ tịch"]),
            ("lam lai so do bi mat", ["giấy chứng nhận quyền sử dụng đất"]),
            ("cho o to con", ["xe ô tô"]),
            ("lam lai cccd", ["căn cước công dân"]),
        ],
    )
    def test_a_term_is_kept_where_its_reading_fits(
        self, restorer: DiacriticRestorer, synonyms: SynonymDictionary, text: str, kept: list[str]
    ) -> None:
        assert synonyms.expansions(text, fits=restorer.reading_fits) == kept

    def test_without_a_check_every_folded_match_counts(self, synonyms: SynonymDictionary) -> None:
        assert synonyms.expansions("doi ho chieu") == ["cải chính hộ tịch"]

    def test_a_text_with_diacritics_is_matched_as_written(
        self, restorer: DiacriticRestorer, synonyms: SynonymDictionary
    ) -> None:
        assert synonyms.expansions("đổi họ cho con", fits=restorer.reading_fits) == [
            "cải chính hộ tịch"
        ]
        assert synonyms.expansions("đổi hộ chiếu", fits=restorer.reading_fits) == []


def test_an_abbreviation_gives_its_neighbours_their_context_when_diacritics_are_restored() -> None:
    from search.query import QueryAnalyzer
    from search.text.synonyms import SynonymEntry

    corpus = ["đổi giấy phép lái xe"] * 5 + ["đối với người lái xe", "đối tượng thực hiện"] * 20
    restorer = DiacriticRestorer.build(corpus, min_bigram_count=1, everyday_path=None)
    synonyms = SynonymDictionary([SynonymEntry(term="GPLX", means=("giấy phép lái xe",))])
    analyzer = QueryAnalyzer(synonyms=synonyms, restorer=restorer)

    assert restorer.restore("doi gplx") == "đối gplx"  # alone, the likelier word wins
    analyzed = analyzer.analyze("doi gplx, Doi GPLX")
    assert analyzed.restored == "đổi gplx, Đổi GPLX"  # read in context, written back as typed
    assert analyzed.expansions == ["giấy phép lái xe"]


def test_the_packaged_dictionary_names_each_term_once() -> None:
    terms = [clean_text(entry.term).lower() for entry in SynonymDictionary.load().entries]
    repeated = sorted({term for term in terms if terms.count(term) > 1})
    assert repeated == []
