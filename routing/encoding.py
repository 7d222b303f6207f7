"""A text's feature vector for a loaded model, fast: what `analysis.features` followed by
`model.vectorize` computes, without building a feature name that the model does not know.

Almost all the work of analysing a text is per word (stemming, typo correction, compound
splitting, its character n-grams), and the same words come back in inquiry after inquiry. So
an `Encoder` remembers, per word, what the model knows of it (its feature indices), in a
bounded LRU memo of MEMO_WORDS words (a process's memory stays flat however many texts it
reads). What is left per text: the word list, the stem bigrams, and adding the counts up
(plain Python: a web process routes without numpy). Training keeps the plain `features` +
`vectorize` (feature names are what it counts); a test holds both paths to the same vector.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from functools import lru_cache
from operator import mul
from typing import NamedTuple

from routing.analysis import CHAR_NGRAMS, STOPWORDS, STOPWORDS_FOLDED, fold, stem, words

MEMO_WORDS = 4096  # ~1.5 MB; a web process sees most inquiries' words among these


class Word(NamedTuple):
    word: str  # the content word as written (lower case)
    stem: str  # its Snowball stem (explanations name a stem by its first word)
    term: str  # the stem it counts as (corrected for one typo where the model knows one)
    body: int  # index of "w:" + term, -1 when the model does not know it
    subject: int  # index of "s:" + term, -1 when unknown
    parts: tuple  # ((index of "c:" + part, count), ...): its compound parts
    ngrams: bytes  # int32 indices of its known character n-grams (with repeats)


class Encoded(NamedTuple):
    """A text's features: the TF-IDF value of feature `indices[i]` is
    `weights[i] * scale[indices[i]] / norm` (`weights`: the sublinear counts)."""

    indices: list[int]  # word features in the text's order, then n-grams by first occurrence
    counts: list[float]  # how often each occurs (a compound part counts a half)
    weights: list[float]  # 1 + log(count) from one on; a half count stays
    norm: float  # the length of the vector (0.0 for a text without known features)
    words: list  # the text's content words (Word)


class Encoder:
    """Per-model text → features with a per-word memo (see the module docstring)."""

    def __init__(self, model, memo_words: int = MEMO_WORDS):
        self.vocabulary = model.vocabulary
        self.lexicon = model.lexicon
        # group weight × idf per feature (float64): (1 + log count) × this is a value
        self.scale = model.feature_scale()
        self.word = lru_cache(maxsize=memo_words)(self._word)

    def _word(self, word: str) -> Word | None:
        """What `analysis._add_words` and `_add_char_ngrams` count for one word (None for a
        function word: `analysis.content_words` leaves it out)."""
        vocabulary, lexicon = self.vocabulary, self.lexicon
        folded = fold(word)
        if word in STOPWORDS or folded in STOPWORDS_FOLDED:
            return None
        raw = term = stem(word)
        split, part_count = None, 1.0
        if term not in lexicon.stems:
            corrected = lexicon.correct(term)
            if corrected is not None:
                term = corrected
            else:
                split = lexicon.split(folded)
        elif len(folded) >= 9:
            split, part_count = lexicon.split(folded), 0.5
        parts = ()
        if split is not None:
            parts = tuple(
                (index, part_count)
                for index in (vocabulary.get("c:" + split[0]), vocabulary.get("c:" + split[1]))
                if index is not None
            )
        padded = f" {folded} "
        ngrams = [
            vocabulary.get("g:" + padded[i : i + n])
            for n in CHAR_NGRAMS
            for i in range(len(padded) - n + 1)
        ]
        return Word(
            word,
            raw,
            term,
            vocabulary.get("w:" + term, -1),
            vocabulary.get("s:" + term, -1),
            parts,
            array("i", [i for i in ngrams if i is not None]).tobytes(),
        )

    def _add_words(self, counts: dict, entries: list[Word], subject: bool) -> None:
        vocabulary = self.vocabulary
        for entry in entries:
            for index, count in entry.parts:
                counts[index] = counts.get(index, 0.0) + count
            index = entry.subject if subject else entry.body
            if index >= 0:
                counts[index] = counts.get(index, 0.0) + 1.0
        for first, second in zip(entries, entries[1:], strict=False):
            index = vocabulary.get("b:" + first.term + "_" + second.term)
            if index is not None:
                counts[index] = counts.get(index, 0.0) + 1.0

    def encode(self, subject: str, body: str) -> Encoded:
        word = self.word
        text = f"{subject}\n{body}"
        entries = [entry for entry in map(word, words(text)) if entry is not None]
        counts: dict[int, float] = {}
        self._add_words(counts, entries, subject=False)
        subject_entries = [entry for entry in map(word, words(subject)) if entry is not None]
        self._add_words(counts, subject_entries, subject=True)
        # the n-grams in the order the text has them (a Counter keeps first insertion), as
        # `features` counts them: explanations break ties between equally weighty features
        # by that order
        ngrams = Counter(memoryview(b"".join(e.ngrams for e in entries)).cast("i"))
        indices = [*counts, *ngrams]
        totals = [*counts.values(), *ngrams.values()]
        # sublinear counts: 1 + log(count) from one on; a half count (compound part) stays
        # (a few distinct counts: each computed once)
        sublinear = {c: 1.0 + math.log(c) if c >= 1 else c for c in set(totals)}
        weights = list(map(sublinear.__getitem__, totals))
        values = list(map(mul, weights, map(self.scale.__getitem__, indices)))
        norm = math.sqrt(sum(map(mul, values, values)))
        return Encoded(indices, totals, weights, norm, entries)


def words_by_stem(entries: list[Word]) -> dict[str, str]:
    """{Snowball stem: the first word of the text with it}, for explanations."""
    found: dict[str, str] = {}
    for entry in entries:
        found.setdefault(entry.stem, entry.word)
    return found
