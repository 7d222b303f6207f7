"""Routing: which responsibility areas a company's question concerns, and who should own it.

The router is a small, explainable text model built from the responsibility map itself
(each area's name, description and routing keywords) plus what officers taught it: the final
areas of handled cases. It understands Swedish the practical way: lower-casing, Snowball
stemming, compound splitting against its own vocabulary ("bygglovsansökan" → bygglov +
ansökan), one-letter typos in longer words, text typed without å/ä/ö, and multi-word
keywords ("ställa ut bord").

Scores are TF-IDF-like: a query term adds `weight(area, term) * idf(term)` to an area, where
the weight depends on where the area mentions the term (keyword > name > description) and the
IDF is taken across areas, so words every area uses ("tillstånd") count for little. An area's
terms count with diminishing returns, so many synonyms for one thing do not outvote another
area named once but clearly. A secondary area is reported only with evidence of its own.

On top of the words, the router knows how permits go together (IMPLICATIONS, EXCLUSIONS,
PROCESS_ORDER below): beer served on the square needs the square too, premises taken into a
new use need bygglov, the place is tried before what is done there. Each such rule is data
with the reason the explanation gives.

Routing keywords (ResponsibilityArea.keywords) are one word or phrase a line, in base form;
a line starting with "~" is a weak hint ("~restaurang": the kind of business, which questions
about many other matters mention too); a line starting with "-" marks a word of the area's name
or description that alone says little about the area ("-lokal": companies talk about their own
premises far more often than about the municipality's), so it counts only as a weak hint.
"""

from __future__ import annotations

import fnmatch
import math
import re
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

# --- Tuning knobs (global; never tuned to single sentences) ------------------------------

KEYWORD_WEIGHT = 3.0  # a routing keyword of the area
WEAK_KEYWORD_WEIGHT = 1.0  # a keyword marked "~": context such as the kind of business
GENERIC_WEIGHT = 0.25  # at most this for a word marked "-": generic alone, whatever the text
NAME_WEIGHT = 2.0  # a word of the area's name
DESCRIPTION_WEIGHT = 1.0  # a word of the public description
PART_WEIGHT = 0.8  # a word inside a multi-word keyword, or a part of a compound keyword
PHRASE_WEIGHT = 4.0  # a multi-word keyword found as a whole
LEARNED_WEIGHT = 2.0  # upper bound of what cases can add to a term's weight for an area
LEARNED_PRIOR = 4.0  # pretend cases that keep a term seen once or twice from counting much
LEARNED_SECONDARY = 0.6  # a secondary area of a handled case counts this much
SUBJECT_BOOST = 1.4  # the subject line is the company's own summary
SIGNATURE = 0.3  # a company name in the signature ("/ Restaurang X") is only a weak hint
DECAY = 0.8  # the n-th strongest term of an area counts DECAY**n
REPEAT_BONUS = 0.25  # each extra mention of a term (at most two count)
COMPOUND_FACTOR = 0.9  # both parts of a compound were recognised
HEAD_ONLY_FACTOR = 0.6  # only the head (last part) of a compound was recognised
MODIFIER_ONLY_FACTOR = 0.5  # only the first part of a compound was recognised
TYPO_FACTOR = 0.7  # matched with one typo
CHOSEN_SUPPORTED_RATIO = 0.8  # the company's choice, when the text supports it at all, adds
# this share of the best text score ...
CHOSEN_UNSUPPORTED_RATIO = 0.5  # ... and this share when the text does not mention it
CHOSEN_AREA_MIN = 3.0  # ... and at least this much, so it decides when the text says nothing
SECONDARY_RATIO = 0.4  # a secondary area needs this share of the primary's score
SECONDARY_OWN_MIN = 8.0  # ... and this much evidence of its own (terms the primary lacks;
# one keyword only that area has, in the body, scores about 8.5)
SECONDARY_OWN_TERMS = 2  # ... from at least two words: one stray word is not a topic,
SECONDARY_SINGLE_MIN = 12.0  # ... unless that one word is a strong keyword of the area
SECONDARY_SINGLE_RATIO = 0.45  # ... or the area scores close to the primary
MAX_AREAS = 3
THIRD_AREA_RATIO = 0.6  # a third area found on words alone needs this share of the primary's
# Longer "words" are pasted junk (URLs, base64, keyboard mashing), not Swedish compounds;
# splitting them costs quadratic time, so they carry no routing signal.
MAX_WORD_LENGTH = 40
STRENGTH_SCALE = 6.0  # score at which the evidence counts as about 2/3 "strong"
TRIAGE_BELOW = 0.3  # confidence below this goes to the triage unit

TRAINING_REBUILD_SECONDS = 300  # new training cases rebuild the model at most this often

# Function words and the polite frame every inquiry has; they never carry the topic.
_STOPWORD_TEXT = """
    och det att i en jag hon som han på den med var sig för så till är men ett om hade de av
    icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid kunde
    något från ut när efter upp vi dem vara vad över än dig kan sina här ha mot alla under
    någon eller allt mycket sedan ju denna själv detta åt utan varit hur ingen mitt ni bli
    blev oss din dessa några deras blir mina samma vilken er sådan vår blivit dess inom
    mellan sådant varför varje vilka ditt vem vilket sitta sådana vart dina vars vårt våra
    ert era vilkas hej hejsan tack mvh vänliga hälsningar hälsning undrar undra fråga frågor
    lag lagen lagar rätt rätta
    vill ska skall får måste behöver behövs finns gäller göra gör gjort kommer komma kommunen
    kommun kommunens norrtälje ab företag företaget vår våran vårt också även bara redan
    just mer mest många lite sig oss ske sker hos ju t ex etc osv ca nån nåt ok ta
    samt enligt andra annan annat egna egen eget nya ny nytt större mindre kring olika
    använda använder hjälp hjälpa krav start starta startar driva driver driv öppna öppnar
    sätta ställa söka söker söks sökas ansöka direkt enklare del delta personer person
    verksamhet verksamheten verksamheter förvaltning förvaltningar idag tid tiden dag
    roslagen roslagens rimbo hallstavik norrtäljes älmsta grisslehamn görla
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_WORD_RE = re.compile(r"[0-9a-zåäöéüæø]+(?:-[0-9a-zåäöéüæø]+)*")
_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u", "æ": "a", "ø": "o"})
_LINKING_LETTERS = ("s", "e", "a", "u", "o")
_INFLECTION_SUFFIXES = (
    "arnas", "ernas", "ornas", "arna", "erna", "orna", "ande", "ende", "heten", "ens", "ets",
    "et", "en", "na", "ar", "er", "or", "n", "t", "s", "a", "e",
)  # fmt: skip

_stemmers = threading.local()


def _stemmer():
    stemmer = getattr(_stemmers, "swedish", None)
    if stemmer is None:  # Snowball stemmers keep state: one per thread
        stemmer = _stemmers.swedish = snowballstemmer.stemmer("swedish")
    return stemmer


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def _fold(word: str) -> str:
    return word.translate(_FOLD)


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower())
    return _WORD_RE.findall(text)


_SIGNATURE_RE = re.compile(
    r"\n\s*(?:/|//|--|—|–|mvh\b|med vänlig|vänliga hälsningar|hälsningar\b|hälsning\b)[^\n]*"
    r"(?:\n[^\n]*){0,3}\s*$",
    re.IGNORECASE,
)


def _split_signature(text: str) -> tuple[str, str]:
    """Split off the sign-off at the end ("/ Restaurang Trappan", "Mvh Anna, Café X")."""
    match = _SIGNATURE_RE.search(text)
    if not match:
        return text, ""
    return text[: match.start()], text[match.start() :]


def _is_generic(keyword: str) -> bool:
    """A keyword written "-lokal" caps that word's weight for the area (see the module doc)."""
    return keyword.lstrip().startswith("-")


def _is_weak(keyword: str) -> bool:
    """A keyword written "~restaurang" is context, not topic: it says what kind of business
    asks, which many questions about other matters mention too."""
    return keyword.lstrip().startswith("~")


def _join_words(words: Sequence[str], conjunction: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1, or one swap of neighbouring letters."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


# What premises were used for before ("som tidigare var bilverkstad", "före detta klädbutik")
# is history, not the question: the words right after these markers count little.
_FORMER_USE_MARKERS = (
    ("tidigare", "var"), ("tidigare", "varit"), ("tidigare", "använts", "som"),
    ("tidigare", "användes", "som"), ("förut", "var"), ("var", "förut"), ("före", "detta"),
    ("f", "d"), ("idag", "är"), ("i", "dag", "är"), ("idag", "används", "som"),
    ("idag", "används", "för"), ("används", "idag", "som"), ("används", "idag", "för"),
    ("används", "som"),
)  # fmt: skip
FORMER_USE_FACTOR = 0.2
FORMER_USE_WORDS = 2  # content words after a marker that describe the former use


# "vid torget", "vid simhallen": a place named as an address, where the company is, not
# what it asks about; the next content word counts less. Only a definite noun is a place
# ("vid torget"); "vid ombyggnad", "vid ägarbyte" say when, and keep their weight.
ADDRESS_MARKERS = ("vid", "bredvid", "nära", "intill", "mittemot")
ADDRESS_FACTOR = 0.5
_DEFINITE_ENDINGS = ("en", "et", "an", "on")


def _discount_addresses(tokens: list[_Token]) -> None:
    for i, token in enumerate(tokens[:-1]):
        if token.raw in ADDRESS_MARKERS:
            nxt = next((t for t in tokens[i + 1 : i + 4] if t.terms), None)
            if nxt is not None and nxt.raw.endswith(_DEFINITE_ENDINGS):
                nxt.weight *= ADDRESS_FACTOR


def _discount_former_use(tokens: list[_Token]) -> None:
    raw = [token.raw for token in tokens]
    for start in range(len(tokens)):
        for marker in _FORMER_USE_MARKERS:
            end = start + len(marker)
            if tuple(raw[start:end]) != marker:
                continue
            content = [t for t in tokens[end : end + FORMER_USE_WORDS + 2] if t.terms]
            for token in content[:FORMER_USE_WORDS]:
                token.weight *= FORMER_USE_FACTOR
            break


# --- The text model ---------------------------------------------------------------------


@dataclass(frozen=True)
class AreaText:
    """What the model needs to know about an area; `ref` is whatever the caller wants back."""

    ref: object
    slug: str
    name: str
    description: str
    keywords: tuple[str, ...]


@dataclass
class _Token:
    position: int
    terms: list[tuple[str, float]]  # (term, factor): a compound gives several
    weight: float  # where the word stands: subject, body or signature
    raw: str


@dataclass
class _Phrase:
    terms: tuple[str, ...]
    area: int
    display: str

    @property
    def key(self) -> str:
        return f"“{self.display}”"


@dataclass
class Scores:
    """Raw scores of the text model, best first, with the terms behind each score."""

    ranked: list[tuple[int, float]]
    contributions: dict[int, dict[str, float]] = field(default_factory=dict)
    term_weights: dict[str, dict[int, float]] = field(default_factory=dict)


class TextModel:
    """A term-weight matrix over areas, built once, then scoring a text in well under 20 ms."""

    def __init__(
        self, areas: Sequence[AreaText], training: Iterable[tuple[str, Sequence[int]]] = ()
    ):
        self.areas = list(areas)
        self.weights: dict[str, dict[int, float]] = defaultdict(dict)
        self.display: dict[str, str] = {}  # term → the word to show in explanations
        self.phrases: list[_Phrase] = []
        self.lookup: dict[str, str] = {}  # a word form → its term
        self.folded: dict[str, str] = {}  # the same without å/ä/ö
        self._typo_index: dict[str, set[str]] = defaultdict(set)
        self._resolved: dict[str, list[tuple[str, float]]] = {}
        self._uncapped: dict[tuple[str, int], float] = {}  # generic words before the cap

        self._build_vocabulary()
        self._build_weights()
        self.learned_cases = self._learn(training)
        self._finish()

    # Building -------------------------------------------------------------------------

    def _add_form(self, word: str) -> str:
        """Register a vocabulary word under its term. An inflection of a word already known
        joins that word's term ("torget" → torg), so Snowball's leftovers do not split one
        word into two terms."""
        term = self._known(word) or _stem(word)
        for form in (term, _stem(word), word):
            self.lookup.setdefault(form, term)
            # Typed without å/ä/ö ("brandfarlig vara" from a foreign keyboard): looked up
            # only for words that have none of those letters themselves.
            self.folded.setdefault(_fold(form), term)
        self.display.setdefault(term, word)
        return term

    def _term(self, word: str) -> str:
        return self._known(word) or _stem(word)

    def _build_vocabulary(self):
        words = set()
        for area in self.areas:
            for text in (area.name, area.description, *area.keywords):
                for word in _words(text):
                    for part in [word, *word.split("-")] if "-" in word else [word]:
                        if part not in STOPWORDS and len(part) > 1 and not part.isdigit():
                            words.add(part.replace("-", ""))
        for word in sorted(words, key=lambda w: (len(w), w)):  # base forms before inflections
            self._add_form(word)
        # Keywords win the display form: they are written the way companies write.
        for area in self.areas:
            for keyword in area.keywords:
                words = _words(keyword)
                if (
                    len(words) == 1
                    and words[0] not in STOPWORDS
                    and not _is_weak(keyword)
                    and not _is_generic(keyword)
                ):
                    self.display[self._term(words[0].replace("-", ""))] = keyword

    def _set_weight(self, term: str, area: int, weight: float):
        row = self.weights[term]
        row[area] = max(row.get(area, 0.0), weight)

    def _build_weights(self):
        for index, area in enumerate(self.areas):
            for word in _words(area.description):
                self._weigh_word(word, index, DESCRIPTION_WEIGHT, DESCRIPTION_WEIGHT * PART_WEIGHT)
            for word in _words(area.name):
                self._weigh_word(word, index, NAME_WEIGHT, PART_WEIGHT)
            generic = []
            for keyword in area.keywords:
                words = _words(keyword)
                if _is_generic(keyword):
                    generic.extend(self._term(word.replace("-", "")) for word in words)
                elif len(words) == 1:
                    weight = WEAK_KEYWORD_WEIGHT if _is_weak(keyword) else KEYWORD_WEIGHT
                    self._weigh_word(words[0], index, weight, PART_WEIGHT)
                elif words:
                    phrase = _Phrase(tuple(self._phrase_term(w) for w in words), index, keyword)
                    self.phrases.append(phrase)
                    self.display[phrase.key] = keyword
                    for word in words:
                        self._weigh_word(word, index, PART_WEIGHT, PART_WEIGHT / 2)
            for term in generic:
                row = self.weights.get(term)
                if row and index in row and row[index] > GENERIC_WEIGHT:
                    # The IDF still counts the word as the area's: capping it must not
                    # make a generic word look rarer, and so stronger, for other areas.
                    self._uncapped[(term, index)] = row[index]
                    row[index] = GENERIC_WEIGHT

    def _weigh_word(self, word: str, area: int, weight: float, part_weight: float):
        """Weigh a vocabulary word for an area; the parts of a compound hint at the area too
        ("registrera livsmedel" for "livsmedelsregistrering"), but weakly."""
        if word in STOPWORDS or len(word) < 2 or word.isdigit():
            return
        joined = word.replace("-", "")
        term = self._term(joined)
        self._set_weight(term, area, weight)
        for part, factor in self._split(joined) if len(joined) >= 6 else ():
            if part != term and part not in STOPWORDS:
                self._set_weight(part, area, part_weight * factor)

    def _phrase_term(self, word: str) -> str:
        if word in STOPWORDS:
            return word
        resolved = self._resolve(word, allow_typo=False)
        return resolved[-1][0] if resolved else self._term(word)

    def _learn(self, training: Iterable[tuple[str, Sequence[int]]]) -> int:
        """Officers' final areas on handled cases: P(area | term) estimated from cases, added
        on top of the taxonomy with a weight that grows with the evidence."""
        counts: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        seen: dict[str, int] = defaultdict(int)
        cases = 0
        for text, area_indexes in training:
            if not area_indexes:
                continue
            cases += 1
            terms = set()
            for word in _words(text):
                if word in STOPWORDS or len(word) < 3 or word.isdigit():
                    continue
                resolved = self._resolve(word, allow_typo=True)
                terms.update(term for term, _factor in resolved)
                if not resolved:  # a new word: it becomes vocabulary
                    terms.add(self._add_form(word))
            for term in terms:
                seen[term] += 1
                for rank, area in enumerate(area_indexes):
                    counts[term][area] += 1.0 if rank == 0 else LEARNED_SECONDARY
        for term, per_area in counts.items():
            # Share of the term's cases that went to the area, shrunk towards zero by a few
            # pretend cases that went elsewhere: one case says little, ten say a lot.
            for area, count in per_area.items():
                share = count / (seen[term] + LEARNED_PRIOR)
                row = self.weights[term]
                row[area] = row.get(area, 0.0) + LEARNED_WEIGHT * share
        return cases

    def _finish(self):
        n_areas = max(len(self.areas), 1)
        self.idf: dict[str, float] = {}
        for term, row in self.weights.items():
            # A soft document frequency: a description mention counts a third of a keyword.
            df = sum(
                min(1.0, max(weight, self._uncapped.get((term, area), 0.0)) / KEYWORD_WEIGHT)
                for area, weight in row.items()
            )
            self.idf[term] = math.log(1.0 + n_areas / (0.5 + df))
        phrase_df: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for phrase in self.phrases:
            phrase_df[phrase.terms].add(phrase.area)
        self.phrase_idf = {
            terms: math.log(1.0 + n_areas / (0.5 + len(areas)))
            for terms, areas in phrase_df.items()
        }
        for form in self.lookup:
            if len(form) >= 5:
                for deleted in _deletes(form):
                    self._typo_index[deleted].add(form)
        self._resolved.clear()

    # Understanding words ------------------------------------------------------------------

    def _known(self, word: str) -> str | None:
        """The term for a word form, trying the inflections Snowball leaves behind."""
        tables = [self.lookup]
        if word == _fold(word):
            tables.append(self.folded)
        for table in tables:
            for candidate in (_stem(word), word):
                if candidate in table:
                    return table[candidate]
            for suffix in _INFLECTION_SUFFIXES:
                if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                    base = word[: -len(suffix)]
                    if base in table:
                        return table[base]
        return None

    def _known_or_typo(self, word: str, allow_typo: bool) -> tuple[str, float] | None:
        term = self._known(word)
        if term:
            return term, 1.0
        if allow_typo and len(word) >= 6:
            term = self._typo(word)
            if term:
                return term, TYPO_FACTOR
        return None

    def _typo(self, word: str) -> str | None:
        candidates = set()
        for probe in (word, _stem(word)):
            if len(probe) < 6:  # short words have too many neighbours to guess safely
                continue
            candidates |= self._typo_index.get(probe, set())
            for deleted in _deletes(probe):
                candidates |= self._typo_index.get(deleted, set())
                if deleted in self.lookup:
                    candidates.add(deleted)
            # People rarely mistype the first letter; requiring it halves false friends.
            matches = sorted(
                c for c in candidates if c[0] == probe[0] and _within_one_edit(probe, c)
            )
            if matches:
                return self.lookup[matches[0]]
        return None

    def _split(self, word: str, allow_typo: bool = False, depth: int = 0):
        """Split a compound on known vocabulary: modifier + optional linking letter + head
        ("bygglovsansökan" → bygglov + ansökan). Returns [(term, factor)], or []."""
        full: list[tuple[str, float]] = []
        head_only: tuple[str, float] | None = None
        for typo_pass in (False, True) if allow_typo else (False,):
            for cut in range(2, len(word) - 2):
                modifier = word[:cut]
                if cut == 2 and (modifier not in self.lookup or len(word) - cut < 5 or typo_pass):
                    continue  # a two-letter first part only as a word of its own: "ölservering"
                head = self._known_or_typo(word[cut:], typo_pass and len(word) - cut >= 6)
                if not head:
                    continue
                left = self._known_or_typo(modifier, False)
                if not left and modifier[-1] in _LINKING_LETTERS and len(modifier) > 3:
                    left = self._known_or_typo(modifier[:-1], False)
                parts = [left] if left else []
                if not parts and depth == 0 and len(modifier) >= 6:
                    parts = self._split(modifier, depth=1)
                if parts:
                    full = [*parts, head]
                    break  # the longest head that leaves a known modifier
                if head_only is None and len(word) - cut >= 4:
                    head_only = (head[0], head[1] * HEAD_ONLY_FACTOR)
            if full:
                break
        if full:
            return [(term, factor * COMPOUND_FACTOR) for term, factor in full]
        if depth > 0:
            return []
        result = [head_only] if head_only else []
        # A known first part is a hint too ("bygglovshandläggaren"): the longest one.
        for cut in range(len(word) - 4, 4, -1):
            left = self._known(word[:cut])
            if left:
                if not head_only or left != head_only[0]:
                    result.append((left, MODIFIER_ONLY_FACTOR))
                break
        return result

    def _resolve(self, word: str, allow_split: bool = True, allow_typo: bool = True):
        """The vocabulary terms a word stands for: itself, its compound parts, or a near miss."""
        key = (word, allow_split, allow_typo)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        result: list[tuple[str, float]] = []
        if "-" in word:  # "TA-plan", "e-cigaretter": the joined form, else the parts
            joined = self._resolve(word.replace("-", ""), allow_split, allow_typo)
            if joined:
                result = joined
            else:
                for part in word.split("-"):
                    if part not in STOPWORDS and len(part) > 1:
                        result.extend(self._resolve(part, allow_split, allow_typo))
        elif len(word) <= MAX_WORD_LENGTH:
            # A whole-word near miss beats a split: "serveringstilstånd" is one typo away
            # from a keyword, not servering + a garbled tillstånd.
            term = self._known(word)
            typo = self._typo(word) if not term and allow_typo and len(word) >= 6 else None
            if term:
                result = [(term, 1.0)]
            elif typo:
                result = [(typo, TYPO_FACTOR)]
            elif allow_split and len(word) >= 6:
                result = self._split(word, allow_typo=allow_typo)
        if len(self._resolved) < 100_000:
            self._resolved[key] = result
        return result

    def tokens(self, subject: str, text: str) -> list[_Token]:
        body, signature = _split_signature(text or "")
        tokens = []
        position = 0
        for weight, part in ((SUBJECT_BOOST, subject or ""), (1.0, body), (SIGNATURE, signature)):
            for word in _words(part):
                if word.isdigit():
                    continue
                skip = word in STOPWORDS or len(word) < 2
                terms = [] if skip else self._resolve(word)
                tokens.append(_Token(position, terms, weight, word))
                position += 1
            position += 10  # a phrase never spans subject, body and signature
        _discount_former_use(tokens)
        _discount_addresses(tokens)
        return tokens

    # Scoring ----------------------------------------------------------------------------

    def score(self, subject: str, text: str) -> Scores:
        tokens = self.tokens(subject, text)
        weight_of: dict[str, float] = {}
        mentions: dict[str, int] = defaultdict(int)
        positions: dict[str, list[int]] = defaultdict(list)
        for token in tokens:
            positions[token.raw].append(token.position)
            for term, factor in token.terms:
                boosted = factor * token.weight
                weight_of[term] = max(weight_of.get(term, 0.0), boosted)
                mentions[term] += 1
                positions[term].append(token.position)

        contributions: dict[int, dict[str, float]] = defaultdict(dict)
        for term, query_weight in weight_of.items():
            row = self.weights.get(term)
            if not row:
                continue
            query_weight *= 1.0 + REPEAT_BONUS * min(mentions[term] - 1, 2)
            idf = self.idf[term]
            for area, weight in row.items():
                contributions[area][term] = query_weight * weight * idf

        for phrase in self.phrases:
            if all(term in positions for term in phrase.terms) and self._near(phrase, positions):
                value = PHRASE_WEIGHT * self.phrase_idf[phrase.terms]
                contributions[phrase.area][phrase.key] = value

        # Diminishing returns: an area with many synonyms for one thing ("öl", "vin",
        # "servera öl") must not outvote an area named once but clearly.
        scores = {
            area: sum(
                value * DECAY**rank
                for rank, value in enumerate(sorted(values.values(), reverse=True))
            )
            for area, values in contributions.items()
        }
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.areas[item[0]].slug))
        term_rows = {term: self.weights.get(term, {}) for term in weight_of}
        return Scores(ranked, dict(contributions), term_rows)

    @staticmethod
    def _near(phrase: _Phrase, positions: dict[str, list[int]]) -> bool:
        """All words of the phrase within a short window, in any order."""
        window = len(phrase.terms) + 3
        for start in positions[phrase.terms[0]]:
            if all(
                any(abs(pos - start) <= window for pos in positions[term])
                for term in phrase.terms[1:]
            ):
                return True
        return False

    def explain_terms(self, area: int, contributions: dict[str, float], limit: int = 3):
        """The words behind an area's score, strongest first, as the company wrote them."""
        best = sorted(contributions.items(), key=lambda item: -item[1])
        shown, seen = [], set()
        for term, _value in best:
            word = self.display.get(term, term).strip("“”")
            if word.lower() not in seen:
                seen.add(word.lower())
                shown.append(word)
            if len(shown) == limit:
                break
        return shown


# --- What the permits have to do with each other ----------------------------------------
#
# Words alone find the areas a company names. Some needs a company does not name: serving
# beer "på torget" needs the square as well as the licence; a bakery moving into a former
# garage changes the use of the premises, which needs bygglov; a party for 300 guests puts
# the fire service's questions on the table. That knowledge is kept here as data, one rule a
# line, each with the reason the explanation gives. Slugs that the map does not have (areas
# renamed or removed) simply make a rule idle.


@dataclass(frozen=True)
class Implication:
    """When the text concerns one of `when` (any area when empty) and contains one of `cues`
    (or names at least `min_people` people), it concerns `then` too, for `reason`.

    A cue is a word sequence. A cue word matches the inflections of that word ("torg" matches
    "torget"); "*" is any run of letters inside a word ("*lokal*" matches "banklokalen"); "?"
    stands for up to three words of any kind ("göra om ? till" matches "göra om den gamla
    ladan till")."""

    when: tuple[str, ...]
    then: str
    reason: str  # Swedish, marked with gettext_noop and translated when it is shown
    cues: tuple[str, ...] = ()
    min_people: int = 0
    instead_of: str = ""  # the rule corrects this area (found on words) instead of adding


# A company that asks for a lotsmöte (all the units it needs at one table) gets the
# företagslots as the one who holds the whole case.
_LOTS_MEETING = ("lotsmöt*", "träffa alla", "alla berörda", "berörda förvaltningar")

# Places that are public ground: the street, the square, the park, the quay.
_PUBLIC_GROUND = (
    "på trottoar", "på torg", "på gata", "på gågata", "i park", "på kaj", "på allmän plats",
    "på offentlig plats", "på gatumark", "på marknad*", "marknadsdag*", "torghandel*",
    "på stora torg*", "på lilla torg*", "på nya torg*", "på gamla torg*", "i *park",
    "i *parken", "på ? kommunal* parkering*", "kommunens parkering*",
    "kommunal* badplats*", "kommunal* strand*", "allmän* badplats*", "allmän* strand*",
)  # fmt: skip

# Premises taken into a use they were not built or approved for.
_CHANGED_USE = (
    "ändra* användning*", "ändrad användning", "göra om ? till", "gör om ? till",
    "bygga om ? till", "omvandla ? till", "som tidigare var*", "som tidigare använ*",
    "tidigare varit", "som idag är", "idag används", "används idag", "före detta",
    "gamla *lokal*", "gamla *lager*", "gamla lada*",
    "gamla ladugård*", "gamla *bank*", "gamla *kyrka*", "i ? lagerbyggnad*",
)  # fmt: skip

# Ground that is the company's own: no upplåtelse of public ground is needed there.
_PRIVATE_GROUND = (
    "egen innergård", "vår innergård", "egna innergård", "egen tomt", "vår tomt", "egen mark",
    "vår mark", "egen gård", "vår gård", "egna gården", "egen fastighet", "vår fastighet",
)  # fmt: skip

# Premises outside the municipal water and sewage network: their own well and sewage are a
# matter for miljö- och hälsoskyddet, not for the water utility.
_NO_MUNICIPAL_WATER = (
    "utan kommunalt*", "inget kommunalt*", "saknar kommunalt*", "inte kommunalt*",
    "ej kommunalt*", "utanför verksamhetsområde*",
)  # fmt: skip

# Opening a place that serves or sells food: every new food business is registered with the
# food control before it opens, whatever else the company asks about.
_NEW_FOOD_BUSINESS = tuple(
    f"{verb} ? {place}"
    for verb in ("öppna", "öppnar", "starta", "startar")
    for place in (
        "restaurang*", "café*", "kafé*", "pizzeria*", "bageri*", "gatukök*", "krog*",
        "kiosk*", "*café*", "*kafé*", "*restaurang*",
    )
)  # fmt: skip

# Areas that words suggest but the situation rules out: (area, cues, unless these cues).
EXCLUSIONS = (("markupplatelse", _PRIVATE_GROUND, _PUBLIC_GROUND),)

IMPLICATIONS = (
    Implication(
        when=(),
        cues=_LOTS_MEETING,
        then="naringslivsservice",
        reason=gettext_noop(
            "Företaget vill träffa alla berörda samtidigt: det är ett lotsmöte, som "
            "företagslotsen samordnar."
        ),
    ),
    Implication(
        when=("vatten_avlopp",),
        instead_of="vatten_avlopp",
        cues=_NO_MUNICIPAL_WATER,
        then="miljo_halsoskydd",
        reason=gettext_noop(
            "Utan kommunalt vatten och avlopp är egen brunn och eget avlopp en fråga för "
            "miljö- och hälsoskyddet."
        ),
    ),
    Implication(
        when=("serveringstillstand", "livsmedel", "evenemang_fritid"),
        cues=_PUBLIC_GROUND,
        then="markupplatelse",
        reason=gettext_noop(
            "Servering, försäljning eller evenemang på gata, torg eller i park kräver också "
            "upplåtelse av platsen."
        ),
    ),
    Implication(
        when=(
            "livsmedel",
            "serveringstillstand",
            "miljo_halsoskydd",
            "brandskydd",
            "naringslivsservice",
            "evenemang_fritid",
        ),  # fmt: skip
        cues=_CHANGED_USE,
        then="bygglov",
        reason=gettext_noop(
            "En lokal som tas i bruk för något annat än tidigare kan behöva bygglov för "
            "ändrad användning."
        ),
    ),
    Implication(
        when=(),
        cues=_NEW_FOOD_BUSINESS,
        then="livsmedel",
        reason=gettext_noop(
            "En ny livsmedelsverksamhet (restaurang, café, kiosk) ska registreras hos "
            "livsmedelskontrollen innan den öppnar."
        ),
    ),
    Implication(
        when=(
            "evenemang_fritid",
            "serveringstillstand",
            "markupplatelse",
            "bygglov",
            "livsmedel",
        ),  # fmt: skip
        min_people=150,  # a room for more than 150 people is a samlingslokal (BBR)
        then="brandskydd",
        reason=gettext_noop(
            "Så många besökare gör brandskydd och utrymning till en fråga för räddningstjänsten."
        ),
    ),
)

# The order in which a company's permits are tried: the place or the premises before what is
# done there. When both areas of a pair are found, the first has a fair share of the
# primary's score (or a rule above implied it) and the text has one of the pair's cues (if
# it lists any), the first
# becomes the primary (and its unit the owning unit): a square only mentioned as an address
# ("vid torget") does not make the square the main question.
_EVENT_SETUP = (
    "scen*", "*tält*", "bar", "baren", "barer", "ölbar*", "vinbar*", "cocktailbar*", "stånd",
    "stånden", "foodtruck*",
    "matvagn*", "*vagnar", "bord", "borden", "servering*", "*servering*",
)  # fmt: skip
_NEW_BUILDING = (
    "nybyggnad*", "uppföra*", "ny* stall*", "ny* byggnad*", "ny* *hall", "ny* *hallen",
    "ny* ladugård*", "ny* verkstad*", "ny* lada", "ny* ladan", "ny* *bod",
)  # fmt: skip
_OUTDOOR_SERVING = ("uteservering*", "ställa ut ? bord*", *_PUBLIC_GROUND)
PROCESS_ORDER = (  # (earlier, later or "*" for any, cues[, areas that must be found too])
    ("naringslivsservice", "*", _LOTS_MEETING),
    # Alcohol served outdoors at an event on the square, quay or in the park: the place
    # (and the police permit it is part of) comes before the event and the licence.
    ("markupplatelse", "*", _PUBLIC_GROUND, ("serveringstillstand",)),
    # An event that puts up a stage, tents, a bar or stalls on the square or in the park
    # is first a matter of the place.
    ("markupplatelse", "evenemang_fritid", _EVENT_SETUP),
    ("markupplatelse", "serveringstillstand", _OUTDOOR_SERVING),
    ("markupplatelse", "livsmedel", _OUTDOOR_SERVING),
    # Scaffolding, containers or site huts on the street: the question is the street.
    ("markupplatelse", "bygglov", ("byggställning*", "ställning*", "container*", "byggbod*")),
    # Land to lease or buy for a kiosk or a café: the land comes first.
    ("kommunal_mark", "livsmedel", ("arrend*", "köpa mark*", "hyra mark*")),
    # A new building (a stable, a workshop) is a bygglov before its environmental questions.
    ("bygglov", "miljo_halsoskydd", _NEW_BUILDING),
    ("bygglov", "livsmedel", ()),
    ("bygglov", "naringslivsservice", _CHANGED_USE),
    ("bygglov", "serveringstillstand", ()),
    ("bygglov", "brandskydd", ()),
    ("evenemang_fritid", "serveringstillstand", ()),
    ("evenemang_fritid", "brandskydd", ()),
)
PROCESS_ORDER_RATIO = 0.3  # the earlier step needs this share of the primary's score

_PEOPLE_RE = re.compile(
    r"(\d{1,3}(?:[ \u00a0]\d{3})+|\d+|hundratals|tusentals|tusen)\s+(?:[a-zåäö]+\s+)?"
    r"(?:besökare|gäster|personer|deltagare|åskådare|publik|pers)\b"
)
_PEOPLE_WORDS = {"hundratals": 200, "tusentals": 2000, "tusen": 1000}


def _cue_word_matches(cue: str, word: str) -> bool:
    if "*" in cue:
        return fnmatch.fnmatchcase(word, cue)
    if word == cue or _stem(word) == _stem(cue):
        return True
    return word.startswith(cue) and word[len(cue) :] in _INFLECTION_SUFFIXES


def _cue_matches_at(cue: Sequence[str], words: Sequence[str], start: int) -> bool:
    if not cue:
        return True
    if cue[0] == "?":
        return any(_cue_matches_at(cue[1:], words, start + skip) for skip in range(4))
    return (
        start < len(words)
        and _cue_word_matches(cue[0], words[start])
        and _cue_matches_at(cue[1:], words, start + 1)
    )


def has_cue(words: Sequence[str], cues: Iterable[str]) -> bool:
    """Whether one of the cues occurs in the words."""
    for cue in cues:
        parts = cue.split()
        # Only where the first letter fits: a cue word and its inflections share it.
        first = parts[0][0] if parts[0][0] not in "*?" else ""
        starts = (i for i, word in enumerate(words) if word.startswith(first))
        if any(_cue_matches_at(parts, words, start) for start in starts):
            return True
    return False


def people_named(text: str) -> int:
    """The largest number of visitors, guests or people the text names ("ca 1 500 besökare")."""
    counts = [
        _PEOPLE_WORDS.get(found) or int(re.sub(r"\D", "", found))
        for found in _PEOPLE_RE.findall(text.lower())
    ]
    return max(counts, default=0)


# --- Decisions on top of the scores -----------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The model's verdict in plain indexes, before it is tied to database rows."""

    areas: list[tuple[int, float]]
    confidence: float
    needs_triage: bool
    terms: dict[int, list[str]]
    chosen: int | None
    reasons: dict[int, str] = field(default_factory=dict)  # area → why it was implied


def decide(model: TextModel, subject: str, text: str, chosen: int | None = None) -> Decision:
    scores = model.score(subject, text)
    totals = dict(scores.ranked)
    best_text = scores.ranked[0][1] if scores.ranked else 0.0
    if chosen is not None:
        # The company's own choice is a strong hint: among areas the text supports it
        # decides, and it decides when the text says nothing; it does not beat a text that
        # is clearly about something else.
        ratio = CHOSEN_SUPPORTED_RATIO if totals.get(chosen) else CHOSEN_UNSUPPORTED_RATIO
        totals[chosen] = totals.get(chosen, 0.0) + max(ratio * best_text, CHOSEN_AREA_MIN)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], model.areas[item[0]].slug))
    if not ranked:
        return Decision([], 0.0, True, {}, chosen)
    # An area the situation rules out (EXCLUSIONS) leaves the field before the others are
    # weighed against it, as long as another area has a fair score of its own.
    ruled_out = _ruled_out(model, subject, text)
    if ruled_out:
        rest = [item for item in ranked if item[0] not in ruled_out]
        if rest and rest[0][1] >= SECONDARY_RATIO * ranked[0][1]:
            ranked = rest

    primary, top = ranked[0]
    chosen_areas = [(primary, top)]
    primary_contrib = scores.contributions.get(primary, {})
    for area, value in ranked[1:]:
        if len(chosen_areas) == MAX_AREAS or value < SECONDARY_RATIO * top:
            break
        if len(chosen_areas) > 1 and value < THIRD_AREA_RATIO * top:
            continue  # a third area on words alone needs more: most questions have one or two
        own, own_terms = _own_evidence(scores, area, [a for a, _ in chosen_areas])
        if own >= SECONDARY_OWN_MIN and (
            own_terms >= SECONDARY_OWN_TERMS
            or own >= SECONDARY_SINGLE_MIN
            or value >= SECONDARY_SINGLE_RATIO * top
        ):
            chosen_areas.append((area, value))
    reasons = _apply_knowledge(model, subject, text, chosen_areas, totals, top)

    runner_up = next((value for area, value in ranked[1:] if area not in dict(chosen_areas)), 0.0)
    strength = 1.0 - math.exp(-top / STRENGTH_SCALE)
    margin = (top - runner_up) / top if top > 0 else 0.0
    confidence = round(strength * (0.4 + 0.6 * margin), 3)
    if not primary_contrib and chosen == primary:
        confidence = max(confidence, 0.5)  # only the company's choice speaks: trust it
    terms = {
        area: model.explain_terms(area, scores.contributions.get(area, {}))
        for area, _value in chosen_areas
    }
    return Decision(chosen_areas, confidence, confidence < TRIAGE_BELOW, terms, chosen, reasons)


def _ruled_out(model: TextModel, subject: str, text: str) -> set[int]:
    """The areas that EXCLUSIONS rule out for this text."""
    body, _signature = _split_signature(text or "")
    words = _words(f"{subject}\n{body}")
    index_of = {area.slug: index for index, area in enumerate(model.areas)}
    return {
        index_of[slug]
        for slug, cues, unless in EXCLUSIONS
        if slug in index_of and has_cue(words, cues) and not has_cue(words, unless)
    }


def _apply_knowledge(
    model: TextModel,
    subject: str,
    text: str,
    chosen_areas: list[tuple[int, float]],
    totals: dict[int, float],
    top: float,
) -> dict[int, str]:
    """Add the areas the found ones imply (IMPLICATIONS) and put the step that comes first
    in the process first (PROCESS_ORDER). Changes `chosen_areas` in place; returns the
    reasons of the implied areas."""
    index_of = {area.slug: index for index, area in enumerate(model.areas)}
    found = {model.areas[index].slug for index, _value in chosen_areas}
    body, _signature = _split_signature(text or "")
    words = _words(f"{subject}\n{body}")
    people = None
    reasons: dict[int, str] = {}
    for slug, cues, unless in EXCLUSIONS:
        index = index_of.get(slug)
        ruled_out = has_cue(words, cues) and not has_cue(words, unless)
        if slug in found and len(chosen_areas) > 1 and ruled_out:
            chosen_areas[:] = [item for item in chosen_areas if item[0] != index]
            found.discard(slug)
    for rule in IMPLICATIONS:
        target = index_of.get(rule.then)
        if target is None:
            continue
        if rule.when and not found.intersection(rule.when):
            continue
        if rule.then in found:
            # Found on words and required by the rule too: that is surer than words alone,
            # so a later rule does not push it out.
            if not rule.instead_of and not rule.min_people and has_cue(words, rule.cues):
                reasons.setdefault(target, rule.reason)
            continue
        full = len(chosen_areas) == MAX_AREAS and not rule.instead_of
        if full and not _weakest_text_secondary(chosen_areas, reasons):
            continue
        if rule.min_people:
            people = people_named(f"{subject}\n{body}") if people is None else people
            applies = people >= rule.min_people
        else:
            applies = has_cue(words, rule.cues)
        if not applies:
            continue
        if rule.instead_of:
            replaced = index_of[rule.instead_of]
            chosen_areas[:] = [
                (target, value) if area == replaced else (area, value)
                for area, value in chosen_areas
            ]
            found.discard(rule.instead_of)
        else:
            if full:  # a rule's conclusion is surer than the weakest area found on words alone
                chosen_areas.remove(_weakest_text_secondary(chosen_areas, reasons))
            chosen_areas.append((target, totals.get(target, 0.0)))
        found.add(rule.then)
        reasons[target] = rule.reason
    found = {model.areas[index].slug for index, _value in chosen_areas}
    primary_slug = model.areas[chosen_areas[0][0]].slug
    for first, then, cues, *also in PROCESS_ORDER:
        if also and not found.issuperset(also[0]):
            continue
        if first == primary_slug and then == "*" and cues and has_cue(words, cues):
            break  # the step that comes before everything else is already first
        if then not in (primary_slug, "*") or first not in found or first == primary_slug:
            continue
        position = next(i for i, (a, _v) in enumerate(chosen_areas) if model.areas[a].slug == first)
        earlier, value = chosen_areas[position]
        if (value >= PROCESS_ORDER_RATIO * top or earlier in reasons) and (
            not cues or has_cue(words, cues)
        ):
            chosen_areas.insert(0, chosen_areas.pop(position))
            break
    return reasons


def _weakest_text_secondary(chosen_areas: list[tuple[int, float]], implied: dict[int, str]):
    """The secondary area with the lowest score that no rule put there, or None."""
    candidates = [item for item in chosen_areas[1:] if item[0] not in implied]
    return min(candidates, key=lambda item: item[1], default=None)


def _own_evidence(scores: Scores, area: int, above: list[int]) -> tuple[float, float]:
    """How much of an area's score comes from terms the areas above it do not explain, and
    from how many terms (a multi-word keyword counts as two)."""
    own, count = 0.0, 0.0
    for term, value in scores.contributions.get(area, {}).items():
        if term.startswith("“"):
            own += value
            count += 2
            continue
        row = scores.term_weights.get(term, {})
        mine = row.get(area, 0.0)
        theirs = max((row.get(other, 0.0) for other in above), default=0.0)
        if mine > theirs:
            own += value * (mine - theirs) / mine
            count += 1
    return own, count


# --- Wiring to the database ------------------------------------------------------------


@dataclass(frozen=True)
class ScoredArea:
    area: object  # departments.models.ResponsibilityArea
    score: float


@dataclass(frozen=True)
class RoutingResult:
    areas: list[ScoredArea]
    owning_department: object  # departments.models.Department
    proposed_owner: object | None  # the user model, or None
    confidence: float
    explanation: str
    needs_triage: bool

    @property
    def primary_area(self):
        return self.areas[0].area if self.areas else None


class _Cache:
    lock = threading.Lock()
    model: TextModel | None = None
    area_version: object = None
    training_version: object = None
    built_at: float = 0.0


def invalidate() -> None:
    """Forget the cached model: the next routing rebuilds it (after area edits, in tests)."""
    with _Cache.lock:
        _Cache.model = None


def _training_cases():
    """Handled cases whose areas an officer stands behind: closed ones, and ones whose areas
    were corrected."""
    from django.db.models import Exists, OuterRef, Q

    from cases.models import Case, CaseEvent

    corrected = CaseEvent.objects.filter(case=OuterRef("pk"), kind=CaseEvent.Kind.AREAS_CHANGED)
    return Case.objects.filter(Q(status=Case.Status.CLOSED) | Exists(corrected))


def _area_version():
    """Changes whenever an area is added, removed or edited (one row per area: cheap)."""
    from django.db.models import Count, Max

    from departments.models import ResponsibilityArea

    return tuple(
        ResponsibilityArea.objects.aggregate(n=Count("pk"), last=Max("updated_at")).values()
    )


def _training_version():
    """Changes when cases are closed, reopened or have their areas corrected: the newest such
    event (a backwards scan of the events' primary key, so cheap on a large table)."""
    from django.db.models import Max

    from cases.models import CaseEvent

    kinds = [CaseEvent.Kind.CLOSED, CaseEvent.Kind.REOPENED, CaseEvent.Kind.AREAS_CHANGED]
    return CaseEvent.objects.filter(kind__in=kinds).aggregate(last=Max("pk"))["last"]


def _build_model() -> TextModel:
    from cases.models import CaseArea
    from departments.models import ResponsibilityArea

    areas = list(ResponsibilityArea.objects.active().select_related("owner").order_by("slug"))
    texts = [AreaText(a, a.slug, a.name, a.description, tuple(a.keyword_list)) for a in areas]
    index_of = {area.pk: index for index, area in enumerate(areas)}
    rows = (
        CaseArea.objects.filter(case__in=_training_cases())
        .order_by("case_id", "-is_primary", "position")
        .values_list("case_id", "case__subject", "case__description", "area_id")
    )
    by_case: dict[int, tuple[str, list[int]]] = {}
    for case_id, subject, description, area_id in rows.iterator(chunk_size=2000):
        entry = by_case.setdefault(case_id, (f"{subject}\n{description}", []))
        if area_id in index_of:
            entry[1].append(index_of[area_id])
    return TextModel(texts, by_case.values())


def get_model() -> TextModel:
    """The process-wide model. Rebuilt at once when the areas change; rebuilt for newly
    handled cases at most every few minutes (one correction need not cost a rebuild per
    request)."""
    now = time.monotonic()
    with _Cache.lock:
        area_version = _area_version()
        if _Cache.model is not None and area_version == _Cache.area_version:
            if now - _Cache.built_at < TRAINING_REBUILD_SECONDS:
                return _Cache.model
            training_version = _training_version()
            if training_version == _Cache.training_version:
                _Cache.built_at = now  # nothing new: look again in a few minutes
                return _Cache.model
        else:
            training_version = _training_version()
        _Cache.model = _build_model()
        _Cache.area_version, _Cache.training_version = area_version, training_version
        _Cache.built_at = now
        return _Cache.model


def triage_department():
    from departments.models import Department

    slug = getattr(settings, "TRIAGE_DEPARTMENT_SLUG", "naringslivsenheten")
    return Department.objects.filter(slug=slug).first()


def route(subject: str, text: str, chosen_area=None, company=None) -> RoutingResult:
    """Route a company's question: ranked areas, owning unit, proposed owner and why."""
    model = get_model()
    chosen = None
    if chosen_area is not None:
        chosen = next((i for i, a in enumerate(model.areas) if a.ref.pk == chosen_area.pk), None)
    decision = decide(model, subject, text, chosen)
    areas = [ScoredArea(model.areas[i].ref, round(score, 3)) for i, score in decision.areas]

    triage = triage_department() if decision.needs_triage else None
    if triage is not None:
        department = triage
    elif areas:
        department = areas[0].area.owner
    else:  # nothing to go on and no triage unit configured: any active unit, never none
        from departments.models import Department

        department = triage_department() or Department.objects.active().order_by("pk").first()

    return RoutingResult(
        areas=areas,
        owning_department=department,
        proposed_owner=propose_owner(department, company) if department else None,
        confidence=decision.confidence,
        explanation=_explain(model, decision, department, chosen_area),
        needs_triage=decision.needs_triage,
    )


def _explain(model: TextModel, decision: Decision, department, chosen_area) -> str:
    and_word = pgettext("list conjunction", "och")
    if not decision.areas:
        return _(
            "Frågan innehåller inga ord som pekar ut ett ansvarsområde, så den går till "
            "%(department)s för fördelning."
        ) % {"department": department.name if department else "–"}

    primary_index = decision.areas[0][0]
    primary = model.areas[primary_index].ref
    terms = decision.terms.get(primary_index) or []
    sentences = []
    if terms:
        sentences.append(
            _("Frågan nämner %(terms)s → %(area)s, som ägs av %(department)s.")
            % {
                "terms": _join_words(terms, and_word),
                "area": primary.name,
                "department": primary.owner.name,
            }
        )
    else:
        sentences.append(
            _("Företaget valde %(area)s, som ägs av %(department)s.")
            % {"area": primary.name, "department": primary.owner.name}
        )
    others = [model.areas[i].ref for i, _score in decision.areas[1:]]
    if others:
        sentences.append(
            _("Den berör också %(areas)s.")
            % {"areas": _join_words([f"{a.name} ({a.owner.name})" for a in others], and_word)}
        )
    for index, _score in decision.areas:
        if index in decision.reasons:
            sentences.append(_(decision.reasons[index]))
    if chosen_area is not None and terms:
        if chosen_area.pk == primary.pk:
            sentences.append(_("Det stämmer med området som företaget valde."))
        elif all(chosen_area.pk != a.pk for a in others):
            sentences.append(
                _("Företaget valde %(area)s, men texten talar mer för %(primary)s.")
                % {"area": chosen_area.name, "primary": primary.name}
            )
    if decision.needs_triage:
        sentences.append(
            _("Bedömningen är osäker, så ärendet går till %(department)s för fördelning.")
            % {"department": department.name}
        )
    return " ".join(sentences)


def propose_owner(department, company=None):
    """An available officer of the unit: the company's officer from its latest case with the
    unit if still available there, else the one with the fewest open cases (ties by id).
    Unit leads are proposed only when no officer is available."""
    if department is None:
        return None
    from django.db.models import BooleanField, Count, ExpressionWrapper, Q

    from cases.models import Case
    from departments.models import Membership

    available = Membership.objects.filter(
        department=department, is_available=True, user__is_active=True
    ).select_related("user")
    if company is not None and company.pk is not None:
        earlier_owner_id = (
            Case.objects.filter(company=company, owning_department=department, owner__isnull=False)
            .order_by("-received_at", "-pk")
            .values_list("owner_id", flat=True)
            .first()
        )
        if earlier_owner_id is not None:
            earlier = available.filter(user_id=earlier_owner_id).first()
            if earlier is not None:
                return earlier.user
    least_loaded = (
        available.annotate(
            is_lead=ExpressionWrapper(Q(role=Membership.Role.LEAD), output_field=BooleanField()),
            open_cases=Count(
                "user__owned_cases", filter=~Q(user__owned_cases__status=Case.Status.CLOSED)
            ),
        )
        .order_by("is_lead", "open_cases", "user_id")
        .first()
    )
    return least_loaded.user if least_loaded else None
