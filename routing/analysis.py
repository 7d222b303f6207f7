"""Swedish text analysis for the router: from a company's text to the features it is judged on.

What is worth knowing about Swedish here, and nothing about single sentences:

- folding: lower case, Unicode NFC, and å/ä/ö/é/ü folded to a/a/o/e/u after stemming, so text
  typed without Swedish letters ("tradgard", "uteservering pa torget") meets the same terms;
- Snowball stems ("uteserveringen", "uteserveringar" → "uteservering");
- compound splitting against the model's own vocabulary ("bygglovsansökan" → bygglov + ansökan),
  with the linking letters Swedish uses (s, e, a, u, o);
- one typo in a longer word that the vocabulary does not know ("bygglvo" → "bygglov");
- a long-word guard: a "word" longer than MAX_WORD_LENGTH (a pasted link, a hash) is ignored,
  and compound splitting only looks at words of reasonable length, so no text makes the
  analysis slow.

`features(subject, body, lexicon)` gives the feature counts; `Lexicon` is what the trained
model knows (its known stems and an index of their one-letter deletions, for typos).
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zlib import crc32

from routing.stemmer import stem as swedish_stem

MAX_WORD_LENGTH = 40  # longer "words" (links, hashes) carry no topic
MAX_WORDS = 1500  # the router reads the start of a very long text only
# Stems kept (~200 bytes each): the encoder remembers whole words (routing.encoding), so this
# serves compound splitting and the rules; 50 000 took up to 10 MB in a long-lived process.
STEM_CACHE = 20_000
MIN_COMPOUND_PART = 3
MIN_COMPOUND_WORD = 7
MIN_TYPO_WORD = 6  # shorter words have too many neighbours one edit away
LINKING_LETTERS = ("s", "e", "a", "u", "o")
CHAR_NGRAMS = (3, 4, 5)

# Function words and the polite frame every inquiry has (no topic words, no place names).
_STOPWORD_TEXT = """
    och det att i en jag hon som han på den med var sig för så till är men ett om hade de av
    icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid kunde
    något från ut när efter upp vi dem vara vad över än dig kan sina här ha mot alla under
    någon eller allt mycket sedan ju denna själv detta åt utan varit hur ingen mitt ni bli
    blev oss din dessa några deras blir mina samma vilken er sådan vår blivit dess inom
    mellan sådant varför varje vilka ditt vem vilket sådana vart dina vars vårt våra ert era
    hej hejsan tack mvh vänliga hälsningar hälsning the a an and or of to in for is are we
    our you it on at be this that with
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD_RE = re.compile(r"[0-9a-zåäöéüæø]+")
_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u", "æ": "a", "ø": "o"})
STOPWORDS_FOLDED = frozenset(word.translate(_FOLD) for word in STOPWORDS)


def fold(text: str) -> str:
    return text.translate(_FOLD)


@lru_cache(maxsize=STEM_CACHE)
def stem(word: str) -> str:
    """The folded Snowball stem of a lower-case word (routing.stemmer: PyStemmer's C code, the same
    stems as snowballstemmer's generated Python at about a sixth of the time)."""
    return fold(swedish_stem(word))


def words(text: str) -> list[str]:
    """Lower-case words, without over-long ones (the long-word guard)."""
    text = unicodedata.normalize("NFC", text.lower())
    return [w for w in _WORD_RE.findall(text) if len(w) <= MAX_WORD_LENGTH][:MAX_WORDS]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and fold(w) not in STOPWORDS_FOLDED]


def deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def typo_hash(key: str) -> int:
    """The typo index's hash of a string: CRC-32, the same in every process (`hash()` of a
    string varies with the process's hash seed, so an index of it could not be stored)."""
    return crc32(key.encode())


@dataclass
class Lexicon:
    """The stems a trained model knows, for compound splitting and typo tolerance.

    Typos are found through the one-letter deletions of the longer stems. A dict of them (about
    20 000 strings) took 1.5 MiB in every web process; they are kept as their hashes instead
    (`typo_hash`), sorted, each with the stem it comes from, and a hit is checked against that
    stem. An artifact of format 3 stores the sorted index, so a process maps it from the file
    (`routing.model`) instead of building it."""

    stems: frozenset[str] = frozenset()
    typo_stems: tuple[str, ...] = ()  # the stems long enough for typos, sorted
    typo_hashes: Sequence[int] = field(default_factory=lambda: array("I"))  # sorted
    typo_targets: Sequence[int] = field(default_factory=lambda: array("H"))  # into typo_stems

    @classmethod
    def build(cls, stems) -> Lexicon:
        known = frozenset(s for s in stems if len(s) >= MIN_COMPOUND_PART)
        typo_stems = cls.typo_stems_of(known)
        hashes, targets = array("I"), array("H" if len(typo_stems) < 1 << 16 else "L")
        for position, s in enumerate(typo_stems):
            for key in {s} | deletes(s):
                hashes.append(typo_hash(key))
                targets.append(position)
        # by hash, then by stem (a stable sort of what is in stem order): where several stems
        # share a deletion, the first stem wins. (A list of positions, ~1 MiB for a moment:
        # built where a model is trained or converted, not in a web process.)
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        sorted_hashes = array("I", [hashes[i] for i in order])
        sorted_targets = array(targets.typecode, [targets[i] for i in order])
        return cls(known, typo_stems, sorted_hashes, sorted_targets)

    @staticmethod
    def typo_stems_of(known) -> tuple[str, ...]:
        return tuple(s for s in sorted(known) if len(s) >= MIN_TYPO_WORD - 1)

    def _typo_stem(self, key: str) -> str | None:
        """The first stem (sorted) that is `key` or has `key` as a one-letter deletion."""
        hashes, h = self.typo_hashes, typo_hash(key)
        at = bisect_left(hashes, h)
        while at < len(hashes) and hashes[at] == h:
            stem_ = self.typo_stems[self.typo_targets[at]]
            if stem_ == key or (len(stem_) == len(key) + 1 and key in deletes(stem_)):
                return stem_
            at += 1  # another string with the same hash
        return None

    def correct(self, word_stem: str) -> str | None:
        """A known stem one edit (insertion, deletion, substitution, swap) away, if any."""
        if len(word_stem) < MIN_TYPO_WORD or word_stem in self.stems:
            return None
        hit = self._typo_stem(word_stem)  # one letter too many
        if hit is not None:
            return hit
        # one letter missing, wrong or swapped; the first position wins where several stems
        # fit (in a fixed order: set order varies between processes, and so did the answer)
        for d in (word_stem[:i] + word_stem[i + 1 :] for i in range(len(word_stem))):
            hit = self._typo_stem(d)
            if hit is not None and abs(len(hit) - len(word_stem)) <= 1:
                return hit
        return None

    def split(self, word: str) -> tuple[str, str] | None:
        """Split a folded compound into a known modifier and a known head (the longest head
        wins): "bygglovsansokan" → ("bygglov", "ansok")."""
        if len(word) < MIN_COMPOUND_WORD:
            return None
        for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1):
            head = stem(word[cut:])
            if head not in self.stems:
                continue
            modifier = word[:cut]
            candidates = [modifier]
            if modifier[-1] in LINKING_LETTERS and len(modifier) > MIN_COMPOUND_PART:
                candidates.append(modifier[:-1])
            for candidate in candidates:
                if candidate in self.stems or stem(candidate) in self.stems:
                    return stem(candidate), head
        return None


def _add_words(counts: Counter, text: str, lexicon: Lexicon, prefix: str) -> None:
    stems = []
    for word in content_words(text):
        folded = fold(word)
        s = stem(word)
        if s not in lexicon.stems:
            corrected = lexicon.correct(s)
            if corrected is not None:
                s = corrected
            else:
                parts = lexicon.split(folded)
                if parts is not None:
                    counts["c:" + parts[0]] += 1
                    counts["c:" + parts[1]] += 1
        else:
            parts = lexicon.split(folded) if len(folded) >= 9 else None
            if parts is not None:
                counts["c:" + parts[0]] += 0.5
                counts["c:" + parts[1]] += 0.5
        counts[prefix + s] += 1
        stems.append(s)
    for first, second in zip(stems, stems[1:], strict=False):
        counts["b:" + first + "_" + second] += 1


def _add_char_ngrams(counts: Counter, text: str) -> None:
    for word in content_words(text):
        padded = f" {fold(word)} "
        for n in CHAR_NGRAMS:
            for i in range(len(padded) - n + 1):
                counts["g:" + padded[i : i + n]] += 1


def features(subject: str, body: str, lexicon: Lexicon) -> Counter:
    """Feature counts of one inquiry. The subject line is the company's own summary: its
    stems count as body stems and once more on their own."""
    counts: Counter = Counter()
    _add_words(counts, f"{subject}\n{body}", lexicon, "w:")
    _add_words(counts, subject, lexicon, "s:")
    _add_char_ngrams(counts, f"{subject}\n{body}")
    return counts


def base_stems(texts) -> Counter:
    """Document frequencies of the stems of texts (to build a Lexicon from training data)."""
    frequency: Counter = Counter()
    for text in texts:
        frequency.update({stem(word) for word in content_words(text)})
    return frequency
