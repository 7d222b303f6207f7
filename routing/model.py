"""The trained router: features → weights → calibrated probabilities.

A `RouterModel` holds only plain data (a vocabulary, numpy weight matrices, the calibration and
the triage threshold), so web and worker processes load it without scikit-learn and routing
one inquiry is a few small array operations. It is built by `routing.training`.

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
import mmap
import pickle
import struct
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from routing.analysis import Lexicon
from routing.encoding import Encoder

GROUP_WEIGHTS = {"w": 1.0, "s": 0.6, "c": 0.7, "b": 0.6, "g": 0.35}
MAX_AREAS = 3

# Artifact format 2: this line, the header's length (8 bytes, little-endian), the header (a
# pickle of the model's plain data and where each array is), then each array's bytes, uncompressed
# and page-aligned, so that a file is memory-mapped: the weights are file pages, shared by the
# processes that load the same file and read in only where an inquiry's features are. Format 1
# (a pickle of everything) still loads.
ARTIFACT_MAGIC = b"ForetagslotsenRouter 2\n"
_PAGE = 4096


def _group(feature: str) -> str:
    return feature[0]


@dataclass
class Prediction:
    primary: np.ndarray  # calibrated probability that each area is the primary one
    contributing: np.ndarray  # probability that the question concerns each area at all
    indices: np.ndarray | None = None  # the text's features, for explanations
    values: np.ndarray | None = None
    words: list | None = None  # the text's content words (routing.encoding.Word)


@dataclass
class RouterModel:
    version: str
    trained_at: str
    areas: list[str]  # area slugs, the order of the weight columns
    vocabulary: dict[str, int]
    idf: np.ndarray
    primary_coef: np.ndarray  # (features, areas)
    primary_intercept: np.ndarray
    contributing_coef: np.ndarray
    contributing_intercept: np.ndarray
    lexicon: Lexicon
    temperature: float = 1.0
    contributing_threshold: float = 0.5
    contributing_ratio: float = 0.0  # a contributing area needs this share of the primary's
    primary_floor: float = 1.1  # a runner-up this probable as the primary area contributes too
    triage_threshold: float = 0.0
    counts: dict = field(default_factory=dict)  # training data counts
    scores: dict = field(default_factory=dict)  # cross-validated scores
    area_signature: str = ""  # the responsibility map it was trained with

    # --- features ---------------------------------------------------------------------

    def vectorize(self, subject: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        """Indices and values of the TF-IDF vector (sublinear, weighted per feature group,
        unit length): `vectorize(features(...))`, computed by the model's encoder."""
        indices, values, _words = self.encoder().encode(subject, body)
        return indices, values

    def encoder(self) -> Encoder:
        encoder = getattr(self, "_encoder", None)
        if encoder is None:  # two threads may both build one: the same, and cheap
            encoder = self._encoder = Encoder(self)
        return encoder

    # --- prediction ---------------------------------------------------------------------

    def predict(self, subject: str, body: str, explain: bool = False) -> Prediction:
        indices, values, words = self.encoder().encode(subject, body)
        logits = values @ self.primary_coef[indices] + self.primary_intercept
        primary = softmax(logits / self.temperature)
        z = values @ self.contributing_coef[indices] + self.contributing_intercept
        contributing = 1.0 / (1.0 + np.exp(-z))
        prediction = Prediction(primary, contributing)
        if explain:
            prediction.indices, prediction.values, prediction.words = indices, values, words
        return prediction

    def top_features(self, prediction: Prediction, area: int, contributing=False, top=6):
        """The features of the text that weighed most for the area (primary model, or the
        contributing one), strongest first."""
        indices, values = prediction.indices, prediction.values
        if indices is None or len(indices) == 0:
            return []
        coef = self.contributing_coef if contributing else self.primary_coef
        column = values * coef[indices, area]
        order = np.argsort(-column)[:top]
        names = self.feature_names()
        return [(names[indices[i]], float(column[i])) for i in order if column[i] > 0]

    def feature_names(self) -> list[str]:
        names = getattr(self, "_names", None)
        if names is None:
            names = [""] * len(self.vocabulary)
            for name, index in self.vocabulary.items():
                names[index] = name
            self._names = names
        return names

    def decide_areas(self, primary: np.ndarray, contributing: np.ndarray) -> list[int]:
        """The primary area, then the contributing areas strong enough (or a close runner-up
        for the primary area: the question concerns it too), at most MAX_AREAS."""
        first = int(np.argmax(primary))
        chosen = [first]
        floor = max(self.contributing_threshold, self.contributing_ratio * contributing[first])
        for index in np.argsort(-np.maximum(contributing, primary)):
            if len(chosen) >= MAX_AREAS:
                break
            if index != first and (
                contributing[index] >= floor or primary[index] >= self.primary_floor
            ):
                chosen.append(int(index))
        return chosen

    # --- storage ------------------------------------------------------------------------

    def dumps(self) -> bytes:
        """The model as an artifact of format 2 (see ARTIFACT_MAGIC)."""
        state = self._state()
        arrays = {
            key: np.ascontiguousarray(state.pop(key))
            for key in [key for key, value in state.items() if isinstance(value, np.ndarray)]
        }
        layout, size = {}, 0
        for key, array in arrays.items():
            layout[key] = (array.dtype.str, array.shape, size)
            size = _page_aligned(size + array.nbytes)
        header = pickle.dumps({"state": state, "arrays": layout}, protocol=pickle.HIGHEST_PROTOCOL)
        start = _page_aligned(len(ARTIFACT_MAGIC) + 8 + len(header))
        out = bytearray(start + size)
        out[: len(ARTIFACT_MAGIC)] = ARTIFACT_MAGIC
        struct.pack_into("<Q", out, len(ARTIFACT_MAGIC), len(header))
        out[len(ARTIFACT_MAGIC) + 8 : len(ARTIFACT_MAGIC) + 8 + len(header)] = header
        for key, array in arrays.items():
            offset = start + layout[key][2]
            out[offset : offset + array.nbytes] = array.tobytes()
        return bytes(out)

    def content_digest(self) -> str:
        """A digest of the stored model without when it was trained and how long that took
        (version, training date, seconds): training again on the same data and areas gives
        the same digest, so an installation can check that it rebuilds the model it runs."""
        state = self._state()
        state["version"] = state["trained_at"] = ""
        state["scores"] = {k: v for k, v in state["scores"].items() if k != "seconds"}
        for key, value in state.items():
            # a mapped (read-only) array pickles as its values, like an owned one
            if isinstance(value, np.ndarray):
                state[key] = np.array(value)
        return hashlib.sha256(_pickled(state)).hexdigest()[:16]

    def _state(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_names", None)
        state.pop("_encoder", None)
        state.pop("_out_of_fold", None)
        state["lexicon"] = sorted(self.lexicon.stems)
        for key in ("primary_coef", "contributing_coef"):
            state[key] = state[key].astype(np.float32)
        return state

    # Only the project's own artifacts are loaded (the committed default, or one that
    # train_router wrote to the database): never a file from outside.

    @classmethod
    def loads(cls, data: bytes | bytearray) -> RouterModel:
        """A model from an artifact's bytes (its arrays are read-only views of them)."""
        if data[: len(ARTIFACT_MAGIC)] == ARTIFACT_MAGIC:
            return cls._from_buffer(data)
        return cls.load(io.BytesIO(data))

    @classmethod
    def load_file(cls, path) -> RouterModel:
        """A model from an artifact file (format 2: the arrays memory-mapped; format 1: read)."""
        with open(path, "rb") as stream:
            if stream.read(len(ARTIFACT_MAGIC)) != ARTIFACT_MAGIC:
                stream.seek(0)
                return cls.load(stream)
            (length,) = struct.unpack("<Q", stream.read(8))
            header = pickle.loads(stream.read(length))  # noqa: S301
            start = _page_aligned(len(ARTIFACT_MAGIC) + 8 + length)
            arrays = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ, offset=start)
        return cls._from_header(header, arrays, 0)

    @classmethod
    def load(cls, stream) -> RouterModel:
        """A model from a stream holding an artifact of format 1 (one pickle)."""
        return cls._from_state(pickle.load(stream))  # noqa: S301

    @classmethod
    def _from_buffer(cls, buffer) -> RouterModel:
        begin = len(ARTIFACT_MAGIC) + 8
        (length,) = struct.unpack_from("<Q", buffer, len(ARTIFACT_MAGIC))
        header = pickle.loads(memoryview(buffer)[begin : begin + length])  # noqa: S301
        return cls._from_header(header, buffer, _page_aligned(begin + length))

    @classmethod
    def _from_header(cls, header: dict, buffer, start: int) -> RouterModel:
        """The arrays are read-only views of `buffer` (the artifact's bytes or its mapped
        file), not copies."""
        state = header["state"]
        for key, (dtype, shape, offset) in header["arrays"].items():
            count = int(np.prod(shape))
            array = np.frombuffer(buffer, dtype=dtype, count=count, offset=start + offset)
            array.flags.writeable = False
            state[key] = array.reshape(shape)
        return cls._from_state(state)

    @classmethod
    def _from_state(cls, state: dict) -> RouterModel:
        state["lexicon"] = Lexicon.build(state["lexicon"])
        return cls(**state)

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


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def weighted(counts: Counter) -> dict[str, float]:
    return {
        name: (1.0 + np.log(count) if count >= 1 else count) * GROUP_WEIGHTS[_group(name)]
        for name, count in counts.items()
    }


def vectorize(counts: Counter, vocabulary: dict[str, int], idf: np.ndarray):
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
