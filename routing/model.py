"""The trained router: features → weights → calibrated probabilities.

A `RouterModel` holds only plain data (a vocabulary, weight matrices, the calibration and the
triage threshold), so web and worker processes load it without scikit-learn. It is built by
`routing.training` (numpy, scikit-learn). Routing an inquiry needs neither: a web or worker
process scores with the packed fixed-point rows of an artifact of format 3 (`PackedWeights`)
and never imports numpy (about 13 MiB of library files and 4 MiB of memory of its own).

Two linear models share the features:

- the primary model (multinomial logistic regression, with complement naive Bayes weights
  added into the same matrix) says which area the question is mainly about; its
  probabilities are temperature-scaled so a stated 0.9 is right about nine times in ten on
  cross-validation folds;
- the contributing model (one logistic regression per area, "does the question concern this
  area at all?", with the naive Bayes weights added too) adds the areas whose probability
  reaches the threshold chosen on the folds; a runner-up of the primary model that comes
  close (`primary_floor`, also chosen on the folds) is added too. The threshold is chosen so
  that the lists find most of the areas of multi-area inquiries (a missed contributing unit
  leaves the company an incomplete answer), as precisely as that allows.
"""

from __future__ import annotations

import hashlib
import io
import math
import mmap
import pickle
import struct
from array import array
from collections import Counter
from dataclasses import dataclass, field, fields
from itertools import compress, repeat
from operator import add, ge, mul, ne, sub
from pathlib import Path

from routing.analysis import Lexicon
from routing.encoding import Encoded, Encoder

GROUP_WEIGHTS = {"w": 1.0, "s": 0.6, "c": 0.7, "b": 0.6, "g": 0.35}
MAX_AREAS = 3
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "default.router"

# Artifact format 3: this line, the header's length (8 bytes, little-endian), the header (a
# pickle of the model's plain data and where each section is), then the sections, each
# page-aligned, in two regions:
# - what routing reads (the "web" region, memory-mapped by every process that routes): the
#   packed fixed-point weight rows (see PackedWeights), each feature's group weight × idf
#   (float64), and the lexicon's sorted typo index (routing.analysis.Lexicon);
# - the float32 weight matrices, the idf and the intercepts as numpy arrays, for training,
#   evaluation and the content digest (`model.primary_coef` maps them, importing numpy, on
#   first use); routing never maps them, so their pages never count in a worker's memory.
# Format 2 (the same without the first region) and format 1 (one pickle) still load: their
# packed rows and typo index are built in memory, which imports numpy (format 1 is a pickle of
# numpy arrays anyway). A model stored in the database in those formats is converted to format
# 3 once, when it is written to ROUTER_CACHE_DIR (routing.api).
ARTIFACT_MAGIC = b"ForetagslotsenRouter 3\n"
ARTIFACT_MAGIC_2 = b"ForetagslotsenRouter 2\n"
_PAGE = 4096
_ARRAYS = (
    "idf",
    "primary_coef",
    "primary_intercept",
    "contributing_coef",
    "contributing_intercept",
)

# The packed rows: per feature, the weights of the 24 primary and 24 contributing columns
# multiplied by the feature's group weight × idf, as fixed-point fields of FIELD_BYTES bytes
# (one quantum per column: its largest weight / BIAS), biased by BIAS so they are never
# negative. Python adds such rows as one big integer each, at C speed; the sum of up to
# CHUNK_ROWS rows cannot carry from one field into the next (CHUNK_ROWS × 2 × BIAS < 2⁴⁸), so
# a text's weights are summed per count (the sublinear weight is the same for all features
# seen as often) in chunks of CHUNK_ROWS rows and the fields unpacked once a chunk. A quantum
# is ~4e-10 of the largest weight: the probabilities are numpy's float computation's to ~1e-10.
FIELD_BYTES = 6
CHUNK_ROWS = 1024
BIAS = (1 << (8 * FIELD_BYTES - 1 - 10)) - 1


def _group(feature: str) -> str:
    return feature[0]


def _numpy():
    """numpy, for training, evaluation, storing and older artifacts only (not for routing)."""
    import numpy

    return numpy


@dataclass
class Prediction:
    primary: list[float]  # calibrated probability that each area is the primary one
    contributing: list[float]  # probability that the question concerns each area at all
    indices: list[int] | None = None  # the text's features, for explanations
    weights: list[float] | None = None  # their sublinear counts
    rows: list[bytes] | None = None  # their packed weight rows
    blob: bytes | None = None  # the rows joined (for explanations)
    others: list[int] | None = None  # where the weight is not 1
    norm: float = 0.0
    words: list | None = None  # the text's content words (routing.encoding.Word)


class PackedWeights:
    """The weights routing reads: packed rows, the per-feature scale and the intercepts."""

    def __init__(self, rows, scale, quanta, primary_intercept, contributing_intercept):
        self.rows = rows  # a buffer: the mapped file, or bytes
        self.scale = scale  # float64 per feature (a memoryview, or a list)
        self.quanta = quanta  # per column
        self.intercepts = [*primary_intercept, *contributing_intercept]
        self.columns = len(self.quanta)
        self.row_bytes = FIELD_BYTES * self.columns

    def slices(self, indices: list[int]) -> list[bytes]:
        """The rows of these features, as bytes."""
        row_bytes = self.row_bytes
        starts = list(map(mul, indices, repeat(row_bytes)))
        ends = map(add, starts, repeat(row_bytes))
        return list(map(self.rows.__getitem__, map(slice, starts, ends)))

    def _fields(self, total: int) -> list[int]:
        """The fields of a (summed) row, each into an 8-byte lane and read as one array."""
        return _lanes(total.to_bytes(self.row_bytes, "little"), 0, FIELD_BYTES)

    def scores(self, encoded: Encoded) -> tuple[list[float], list[bytes]]:
        """The linear scores of all columns (primary logits, then the contributing ones) and
        the text's rows. Σ_features weight × row = Σ_rows + Σ_(weight ≠ 1) (weight − 1) × row:
        one sum of all rows, and one per other weight, each a chunk of big integers at a time."""
        slices = self.slices(encoded.indices)
        rows = list(map(int.from_bytes, slices, repeat("little")))
        weights = encoded.weights
        others: dict[float, list[int]] = {}  # weight − 1: the rows with that weight
        for at in compress(range(len(weights)), map(ne, weights, repeat(1.0))):
            others.setdefault(weights[at] - 1.0, []).append(rows[at])
        totals = [0.0] * self.columns
        for factor, members in [(1.0, rows), *others.items()]:
            for start in range(0, len(members), CHUNK_ROWS):
                chunk = members[start : start + CHUNK_ROWS]
                fields_ = map(sub, self._fields(sum(chunk)), repeat(BIAS * len(chunk)))
                totals = list(map(add, totals, map(mul, fields_, repeat(factor))))
        if encoded.norm:
            norm = encoded.norm
            return [
                t * q / norm + b
                for t, q, b in zip(totals, self.quanta, self.intercepts, strict=True)
            ], slices
        return list(self.intercepts), slices

    def column(self, blob: bytes, weights: list[float], others, column: int) -> array:
        """A sort key per row for the column (float64): its field where the row's weight is
        1, else weight × (field − BIAS) + BIAS (the same order; the quantum and the norm left
        out). `blob`: the rows, joined."""
        keys = array("d", _lanes(blob, column * FIELD_BYTES, self.row_bytes))
        for at in others:
            keys[at] = weights[at] * (keys[at] - BIAS) + BIAS
        return keys


def _lanes(data: bytes, first: int, step: int) -> list[int]:
    """The FIELD_BYTES-byte little-endian numbers at first, first + step, ... of data."""
    count = (len(data) - first + step - 1) // step
    lanes = bytearray(8 * count)
    for byte in range(FIELD_BYTES):
        lanes[byte::8] = data[first + byte :: step][:count]
    return memoryview(lanes).cast("Q").tolist()


def pack(primary_coef, contributing_coef, scale):
    """(rows as bytes, quanta) for the weight matrices and the per-feature scale (numpy)."""
    np = _numpy()
    weights = np.hstack(
        [np.asarray(primary_coef, dtype=np.float64), np.asarray(contributing_coef, np.float64)]
    )
    weights *= np.asarray(scale, dtype=np.float64)[:, None]
    largest = np.abs(weights).max(axis=0) if len(weights) else np.zeros(weights.shape[1])
    quanta = np.where(largest > 0, largest / BIAS, 1.0)
    units = np.rint(weights / quanta).astype(np.int64) + BIAS
    assert units.min(initial=0) >= 0 and units.max(initial=0) <= 2 * BIAS
    rows = units.astype("<u8").view(np.uint8).reshape(len(weights), -1, 8)[:, :, :FIELD_BYTES]
    return rows.tobytes(), quanta.tolist()


@dataclass
class RouterModel:
    version: str
    trained_at: str
    areas: list[str]  # area slugs, the order of the weight columns
    vocabulary: dict[str, int]
    idf: object  # numpy (features,)
    primary_coef: object  # numpy (features, areas)
    primary_intercept: object
    contributing_coef: object
    contributing_intercept: object
    lexicon: Lexicon
    temperature: float = 1.0
    contributing_threshold: float = 0.5
    contributing_ratio: float = 0.0  # a contributing area needs this share of the primary's
    primary_floor: float = 1.1  # a runner-up this probable as the primary area contributes too
    triage_threshold: float = 0.0
    counts: dict = field(default_factory=dict)  # training data counts
    scores: dict = field(default_factory=dict)  # cross-validated scores
    area_signature: str = ""  # the responsibility map it was trained with

    def __getattr__(self, name):
        """The numpy arrays of a model loaded from format 3, mapped on first use (training,
        evaluation, the digest; routing does not use them)."""
        lazy = self.__dict__.get("_lazy")
        if name not in _ARRAYS or lazy is None:
            raise AttributeError(name)
        self.__dict__.update(_arrays(*lazy))
        del self.__dict__["_lazy"]
        return self.__dict__[name]

    # --- features ---------------------------------------------------------------------

    def vectorize(self, subject: str, body: str):
        """Indices and values of the TF-IDF vector (sublinear, weighted per feature group,
        unit length), as numpy arrays: `vectorize(features(...))`, computed by the model's
        encoder (training and evaluation)."""
        np = _numpy()
        encoded = self.encoder().encode(subject, body)
        if not encoded.indices:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices = np.array(encoded.indices, dtype=np.int64)
        values = np.array(encoded.weights) * np.array(self.feature_scale())[indices]
        norm = np.sqrt(values @ values)
        return indices, values / norm if norm else values

    def encoder(self) -> Encoder:
        encoder = getattr(self, "_encoder", None)
        if encoder is None:  # two threads may both build one: the same, and cheap
            encoder = self._encoder = Encoder(self)
        return encoder

    def feature_scale(self):
        """Each feature's group weight × idf (float64)."""
        packed = self.__dict__.get("_packed")
        if packed is not None:
            return packed.scale
        np = _numpy()
        group = np.array([GROUP_WEIGHTS[_group(name)] for name in self.feature_names()])
        return (group * self.idf).tolist() if len(group) else []

    def packed(self) -> PackedWeights:
        packed = self.__dict__.get("_packed")
        if packed is None:  # a model just trained, or loaded from format 1 or 2: numpy
            scale = self.feature_scale()
            rows, quanta = pack(self.primary_coef, self.contributing_coef, scale)
            packed = self._packed = PackedWeights(
                rows,
                scale,
                quanta,
                [float(b) for b in self.primary_intercept],
                [float(b) for b in self.contributing_intercept],
            )
        return packed

    # --- prediction ---------------------------------------------------------------------

    def predict(self, subject: str, body: str, explain: bool = False) -> Prediction:
        encoded = self.encoder().encode(subject, body)
        packed = self.packed()
        scores, rows = packed.scores(encoded)
        areas = len(self.areas)
        temperature = self.temperature
        primary = softmax_list([score / temperature for score in scores[:areas]])
        contributing = [sigmoid(z) for z in scores[areas:]]
        prediction = Prediction(primary, contributing)
        if explain:
            prediction.indices, prediction.weights = encoded.indices, encoded.weights
            prediction.rows, prediction.norm = rows, encoded.norm
            prediction.words = encoded.words
        return prediction

    def top_features(self, prediction: Prediction, area: int, contributing=False, top=6):
        """The features of the text that weighed most for the area (primary model, or the
        contributing one), strongest first; of equally weighty features (co-occurring
        n-grams often have the same weight), the one the text has first."""
        if not prediction.rows:
            return []
        packed = self.packed()
        index = area + len(self.areas) if contributing else area
        if prediction.blob is None:
            prediction.blob = b"".join(prediction.rows)
            weights = prediction.weights
            prediction.others = list(compress(range(len(weights)), map(ne, weights, repeat(1.0))))
        keys = packed.column(prediction.blob, prediction.weights, prediction.others, index)
        # the largest keys; of equal ones, the feature the text has first (a stable sort)
        least = sorted(keys, reverse=True)[:top][-1]
        candidates = compress(range(len(keys)), map(ge, keys, repeat(least)))
        order = sorted(candidates, key=keys.__getitem__, reverse=True)[:top]
        unit = packed.quanta[index] / prediction.norm
        names, indices = self.feature_names(), prediction.indices
        return [(names[indices[i]], (keys[i] - BIAS) * unit) for i in order if keys[i] > BIAS]

    def feature_names(self) -> list[str]:
        names = getattr(self, "_names", None)
        if names is None:
            names = [""] * len(self.vocabulary)
            for name, index in self.vocabulary.items():
                names[index] = name
            self._names = names
        return names

    def decide_areas(self, primary, contributing) -> list[int]:
        """The primary area, then the contributing areas strong enough (or a close runner-up
        for the primary area: the question concerns it too), at most MAX_AREAS. (Equal
        candidates in column order: a stable sort.)"""
        columns = range(len(primary))
        first = max(columns, key=primary.__getitem__)  # the first of equals, as argmax
        chosen = [first]
        floor = max(self.contributing_threshold, self.contributing_ratio * contributing[first])
        key = [max(c, p) for c, p in zip(contributing, primary, strict=True)]
        for index in sorted(columns, key=key.__getitem__, reverse=True):
            if len(chosen) >= MAX_AREAS:
                break
            if index != first and (
                contributing[index] >= floor or primary[index] >= self.primary_floor
            ):
                chosen.append(int(index))
        return chosen

    # --- storage ------------------------------------------------------------------------

    def dumps(self) -> bytes:
        """The model as an artifact of format 3 (see ARTIFACT_MAGIC)."""
        np = _numpy()
        state = self._state()
        arrays = {key: np.ascontiguousarray(state.pop(key)) for key in _ARRAYS}
        scale = np.asarray(self.feature_scale(), dtype=np.float64)
        rows, quanta = pack(arrays["primary_coef"], arrays["contributing_coef"], scale)
        lexicon = self.lexicon
        web_data = {
            "rows": rows,
            "scale": scale.astype("<f8").tobytes(),
            "typo_hashes": bytes(memoryview(lexicon.typo_hashes)),
            "typo_targets": bytes(memoryview(lexicon.typo_targets)),
        }
        web, web_size = {}, 0
        for key, data in web_data.items():
            web[key] = (web_size, len(data))
            web_size = _page_aligned(web_size + len(data))
        layout, size = {}, 0
        for key, values in arrays.items():
            layout[key] = (values.dtype.str, values.shape, size)
            size = _page_aligned(size + values.nbytes)
        header = pickle.dumps(
            {
                "state": state,
                "arrays": layout,
                "web": web,
                "web_size": web_size,
                "quanta": quanta,
                "intercepts": (
                    arrays["primary_intercept"].tolist(),
                    arrays["contributing_intercept"].tolist(),
                ),
                "typo_typecodes": (
                    memoryview(lexicon.typo_hashes).format,
                    memoryview(lexicon.typo_targets).format,
                ),
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        start = _page_aligned(len(ARTIFACT_MAGIC) + 8 + len(header))
        out = bytearray(start + web_size + size)
        out[: len(ARTIFACT_MAGIC)] = ARTIFACT_MAGIC
        struct.pack_into("<Q", out, len(ARTIFACT_MAGIC), len(header))
        out[len(ARTIFACT_MAGIC) + 8 : len(ARTIFACT_MAGIC) + 8 + len(header)] = header
        for key, data in web_data.items():
            offset = start + web[key][0]
            out[offset : offset + len(data)] = data
        for key, values in arrays.items():
            offset = start + web_size + layout[key][2]
            out[offset : offset + values.nbytes] = values.tobytes()
        return bytes(out)

    def content_digest(self) -> str:
        """A digest of the stored model without when it was trained and how long that took
        (version, training date, seconds): training again on the same data and areas gives
        the same digest, so an installation can check that it rebuilds the model it runs.
        (The packed rows and the typo index are derived from what it covers.)"""
        np = _numpy()
        state = self._state()
        state["version"] = state["trained_at"] = ""
        state["scores"] = {k: v for k, v in state["scores"].items() if k != "seconds"}
        for key, value in state.items():
            # a mapped (read-only) array pickles as its values, like an owned one
            if isinstance(value, np.ndarray):
                state[key] = np.array(value)
        return hashlib.sha256(_pickled(state)).hexdigest()[:16]

    def _state(self) -> dict:
        np = _numpy()
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["lexicon"] = sorted(self.lexicon.stems)
        for key in ("primary_coef", "contributing_coef"):
            state[key] = state[key].astype(np.float32)
        return state

    # Only the project's own artifacts are loaded (the committed default, or one that
    # train_router wrote to the database): never a file from outside.

    @staticmethod
    def artifact_format(data: bytes) -> int:
        """The format of an artifact from its first bytes."""
        if data[: len(ARTIFACT_MAGIC)] == ARTIFACT_MAGIC:
            return 3
        return 2 if data[: len(ARTIFACT_MAGIC_2)] == ARTIFACT_MAGIC_2 else 1

    @classmethod
    def loads(cls, data: bytes | bytearray) -> RouterModel:
        """A model from an artifact's bytes (its sections are read-only views of them)."""
        kind = cls.artifact_format(data)
        if kind == 1:
            return cls.load(io.BytesIO(data))
        begin = len(ARTIFACT_MAGIC) + 8
        (length,) = struct.unpack_from("<Q", data, len(ARTIFACT_MAGIC))
        header = pickle.loads(memoryview(data)[begin : begin + length])  # noqa: S301
        start = _page_aligned(begin + length)
        if kind == 2:
            return cls._from_state({**header["state"], **_arrays(data, header["arrays"], start)})
        web = memoryview(data)[start : start + header["web_size"]]
        return cls._from_format_3(header, web, (data, header["arrays"], start + header["web_size"]))

    @classmethod
    def load_file(cls, path) -> RouterModel:
        """A model from an artifact file (format 3 and 2: memory-mapped; format 1: read)."""
        with open(path, "rb") as stream:
            kind = cls.artifact_format(stream.read(len(ARTIFACT_MAGIC)))
            if kind == 1:
                stream.seek(0)
                return cls.load(stream)
            (length,) = struct.unpack("<Q", stream.read(8))
            header = pickle.loads(stream.read(length))  # noqa: S301
            start = _page_aligned(len(ARTIFACT_MAGIC) + 8 + length)
            if kind == 2:
                mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ, offset=start)
                return cls._from_state({**header["state"], **_arrays(mapped, header["arrays"], 0)})
            # only the sections routing reads are mapped (see ARTIFACT_MAGIC)
            web = mmap.mmap(
                stream.fileno(), header["web_size"], access=mmap.ACCESS_READ, offset=start
            )
        return cls._from_format_3(
            header, web, (Path(path), header["arrays"], start + header["web_size"])
        )

    @classmethod
    def load(cls, stream) -> RouterModel:
        """A model from a stream holding an artifact of format 1 (one pickle)."""
        return cls._from_state(pickle.load(stream))  # noqa: S301

    @classmethod
    def _from_state(cls, state: dict) -> RouterModel:
        state["lexicon"] = Lexicon.build(state["lexicon"])
        return cls(**state)

    @classmethod
    def _from_format_3(cls, header: dict, web, arrays) -> RouterModel:
        """A model whose routing sections are views of `web` (the mapped region or the
        artifact's bytes) and whose numpy arrays are read from `arrays` on first use."""
        state, sections = header["state"], header["web"]
        view = memoryview(web)

        def section(key, typecode=None):
            offset, size = sections[key]
            part = view[offset : offset + size]
            return part.cast(typecode) if typecode else part

        hash_code, target_code = header["typo_typecodes"]
        known = frozenset(state["lexicon"])
        state["lexicon"] = Lexicon(
            known,
            Lexicon.typo_stems_of(known),
            section("typo_hashes", hash_code),
            section("typo_targets", target_code),
        )
        model = cls.__new__(cls)
        model.__dict__.update(state)
        rows_offset, rows_size = sections["rows"]
        rows = web if rows_offset == 0 and isinstance(web, mmap.mmap) else section("rows")
        model._packed = PackedWeights(
            rows, section("scale", "d"), header["quanta"], *header["intercepts"]
        )
        model._lazy = arrays
        return model

    def describe(self) -> dict:
        return {
            "version": self.version,
            "trained_at": self.trained_at,
            "areas": len(self.areas),
            "features": len(self.vocabulary),
            "counts": self.counts,
            "scores": self.scores,
            "temperature": round(self.temperature, 3),
            "contributing_threshold": round(self.contributing_threshold, 3),
            "primary_floor": round(self.primary_floor, 3),
            "triage_threshold": round(self.triage_threshold, 3),
        }


def _page_aligned(size: int) -> int:
    return -(-size // _PAGE) * _PAGE


def _pickled(state: dict) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(state, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def softmax(logits):
    """The softmax of numpy rows (training and evaluation)."""
    np = _numpy()
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def softmax_list(logits: list[float]) -> list[float]:
    top = max(logits)
    shifted = [math.exp(value - top) for value in logits]
    total = sum(shifted)
    return [value / total for value in shifted]


def sigmoid(z: float) -> float:
    # 1 / (1 + e^-z), as numpy computes it; e^z for a z so low that e^-z would overflow
    return 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else math.exp(z)


def _arrays(buffer, layout: dict, start: int) -> dict:
    """The numpy arrays of an artifact: read-only views of `buffer` (the artifact's bytes or
    a mapping of its file), or of a new mapping of the file where `buffer` is its path."""
    np = _numpy()
    if isinstance(buffer, Path):
        with buffer.open("rb") as stream:
            size = max(
                offset + int(np.prod(shape)) * np.dtype(dtype).itemsize
                for dtype, shape, offset in layout.values()
            )
            buffer = mmap.mmap(stream.fileno(), size, access=mmap.ACCESS_READ, offset=start)
        start = 0
    arrays = {}
    for key, (dtype, shape, offset) in layout.items():
        count = int(np.prod(shape))
        array = np.frombuffer(buffer, dtype=dtype, count=count, offset=start + offset)
        array.flags.writeable = False
        arrays[key] = array.reshape(shape)
    return arrays


def weighted(counts: Counter) -> dict[str, float]:
    """Sublinear counts × group weights of feature names (numpy's log, as training always
    had: its last bits are part of the reproducible model)."""
    np = _numpy()
    return {
        name: (1.0 + np.log(count) if count >= 1 else count) * GROUP_WEIGHTS[_group(name)]
        for name, count in counts.items()
    }


def vectorize(counts: Counter, vocabulary: dict[str, int], idf):
    """The TF-IDF vector of feature counts (numpy; training)."""
    np = _numpy()
    pairs = [
        (vocabulary[name], value)
        for name, value in weighted(counts).items()
        if name in vocabulary and value > 0
    ]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    indices = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    values = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
    values *= idf[indices]
    norm = np.sqrt(values @ values)
    return indices, values / norm if norm else values
