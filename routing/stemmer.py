"""The Swedish Snowball stemmer (as snowballstemmer 3.1 implements it), written for speed.

The generated snowballstemmer code walks each word letter by letter through a general
machine; stemming was most of the time a process takes to read a text it has not seen before
(compound splitting stems every possible head of a long word). This is the same algorithm
(https://snowballstem.org/algorithms/swedish/stemmer.html) with plain string operations. A
test holds it to snowballstemmer on every word of the routing data, every ending of those
words and random letter strings.
"""

from __future__ import annotations

import re

VOWELS = frozenset("aeiouyäåö")
S_ENDING = frozenset("bcdfghjklmnoprtvy")  # an "s" after one of these is an ending
OST_ENDING = frozenset("iklnprtuv")
# Step 1: the main endings; 1 = delete, 2 = "s", 3 = "et" (see `stem`).
_DELETED = (
    "a arna erna heterna orna ad e ade ande arne are aste en anden aren heten ern ar er heter "
    "or as arnas ernas ornas es ades andes ens arens hetens erns at andet het ast"
)
MAIN_SUFFIXES = {**dict.fromkeys(_DELETED.split(" "), 1), "s": 2, "et": 3}
_EXCEPTIONS = (
    "fab h pak rak stak kom iet cit dit alit ilit mit nit pit rit sit tit uit ivit kvit xit"
)
NOT_BEFORE_ET = tuple(_EXCEPTIONS.split(" "))
CONSONANT_PAIRS = ("dd", "gd", "nn", "dt", "gt", "kt", "tt")
OTHER_SUFFIXES = {"fullt": "full", "lig": "", "els": "", "öst": "ös", "ig": ""}
LONGEST_MAIN = max(map(len, MAIN_SUFFIXES))
LONGEST_OTHER = max(map(len, OTHER_SUFFIXES))


_REGION = re.compile("[^aeiouyäåö]*[aeiouyäåö]+[^aeiouyäåö]")


def _region(word: str) -> int:
    """R1: after the first non-vowel that follows a vowel, and at least 3 letters in."""
    found = _REGION.match(word) if len(word) >= 3 else None
    return max(found.end(), 3) if found else len(word)


def _et_allowed(word: str, end: int) -> bool:
    """Whether "et" (or "ets") ending before `end` may go: a non-vowel after a vowel before
    it, not at the word's start, and not one of the exceptions ("hit", "komet" ...)."""
    if end < 3 or word[end - 1] in VOWELS or word[end - 2] not in VOWELS:
        return False
    return not word.endswith(NOT_BEFORE_ET, 0, end)


def stem(word: str) -> str:
    """The Snowball stem of a lower-case Swedish word."""
    p1 = _region(word)
    n = len(word)
    for length in range(min(LONGEST_MAIN, n - p1), 0, -1):  # the longest ending in R1
        action = MAIN_SUFFIXES.get(word[n - length :])
        if action is None:
            continue
        if action == 1:
            word = word[: n - length]
        elif action == 2:  # "ets" goes where "et" may; "s" after an s-ending letter
            if word.endswith("et", 0, n - 1) and _et_allowed(word, n - 3):
                word = word[: n - 3]
            elif n >= 2 and word[n - 2] in S_ENDING:
                word = word[: n - 1]
        elif _et_allowed(word, n - 2):
            word = word[: n - 2]
        break
    n = len(word)
    if n - 2 >= p1 and word.endswith(CONSONANT_PAIRS):
        word = word[: n - 1]
        n -= 1
    for length in range(min(LONGEST_OTHER, n - p1), 1, -1):
        ending = word[n - length :]
        replacement = OTHER_SUFFIXES.get(ending)
        if replacement is None:
            continue
        if ending == "öst" and not (n >= 4 and word[n - 4] in OST_ENDING):
            break
        word = word[: n - length] + replacement
        break
    return word
