"""Find responsibility areas by the words a company uses, in any inflected form."""

import re
import threading
from functools import lru_cache

import Stemmer

# PyStemmer's Snowball stemmers: what `snowballstemmer.stemmer()` hands out when PyStemmer is
# installed. Without PyStemmer the snowballstemmer package's __init__ would import the generated
# Python of all its 30 languages (~2.8 MiB in every web worker); here a missing PyStemmer is an
# import error. A PyStemmer object keeps a cache and is not safe to share between threads, so
# each thread has its own (the module-level pair was shared).
_local = threading.local()
_WORD = re.compile(r"[a-zåäöéü0-9]+")


def _stemmer(language: str):
    stemmer = getattr(_local, language, None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer(language)
        setattr(_local, language, stemmer)
    return stemmer


@lru_cache(maxsize=20_000)
def stem(word: str) -> str:
    return _stemmer("swedish").stemWord(word)


@lru_cache(maxsize=20_000)
def english_stem(word: str) -> str:
    return _stemmer("english").stemWord(word)


def stems(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower()) if len(word) > 1]


def english_stems(text: str) -> list[str]:
    return [english_stem(word) for word in _WORD.findall(text.lower()) if len(word) > 1]


def _match(query_stem: str, area_stems: set[str]) -> float:
    """1 for the same stem; for compounds and inflections the share of the query word that
    an area word covers ("serveringstillstånd" covers most of "serveringstillståndet",
    "tillstånd" less of it)."""
    if query_stem in area_stems:
        return 1.0
    best = 0.0
    for area_stem in area_stems:
        if len(area_stem) >= 4 and area_stem in query_stem:
            best = max(best, len(area_stem) / len(query_stem))
        elif len(query_stem) >= 4 and query_stem in area_stem:
            best = max(best, len(query_stem) / len(area_stem))
    return best


def rank_areas(areas, query: str):
    """Areas whose words match the query, best first. A query word matches an area word
    with the same stem, one it is part of, or one that is part of it; matches in the
    area's name count more than in its description."""
    # Each query word in Swedish and in English ("alcohol licence" finds the area whose
    # English name is "Alcohol licences").
    words = [w for w in _WORD.findall(query.lower()) if len(w) > 1 and len(stem(w)) >= 3]
    if not words:
        return []
    ranked = []
    for area in areas:
        name_stems = set(stems(area.name))
        body_stems = set(stems(f"{area.description} {area.keywords}"))
        english_name = set(english_stems(getattr(area, "name_en", "") or ""))
        score = sum(
            max(
                1.5 * _match(stem(w), name_stems),
                _match(stem(w), body_stems),
                1.5 * _match(english_stem(w), english_name) if english_name else 0.0,
            )
            for w in words
        )
        if score >= 0.5:
            ranked.append((score, area.name, area))
    ranked.sort(key=lambda row: (-row[0], row[1]))
    return [area for _score, _name, area in ranked]
