"""Routing rules (RoutingRule rows) applied to the areas the model found.

A rule's cue words are matched on stems, so inflections ("ölen"), compounds ("ölservering")
and text typed without å/ä/ö count. The rules are read from the database and kept in the
process for RULES_CHECK_SECONDS; saving a rule in the admin clears this process's copy.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from routing.analysis import stem, words

RULES_CHECK_SECONDS = 60
MIN_CUE_PART = 4  # a cue found inside a compound needs this many letters


@dataclass(frozen=True)
class Rule:
    kind: str
    area: str
    other_area: str
    cues: tuple[str, ...]  # stems
    reason: str


class _Cache:
    lock = threading.Lock()
    rules: list[Rule] | None = None
    loaded_at = 0.0


def invalidate(**_kwargs) -> None:
    with _Cache.lock:
        _Cache.rules = None


def active_rules() -> list[Rule]:
    now = time.monotonic()
    with _Cache.lock:
        if _Cache.rules is not None and now - _Cache.loaded_at < RULES_CHECK_SECONDS:
            return _Cache.rules
    from routing.models import RoutingRule

    rows = RoutingRule.objects.filter(is_active=True).values_list(
        "kind", "area__slug", "other_area__slug", "cues", "reason"
    )
    rules = [
        Rule(kind, area, other, tuple(stem(c.lower()) for c in cues.split() if c), reason)
        for kind, area, other, cues, reason in rows
    ]
    with _Cache.lock:
        _Cache.rules, _Cache.loaded_at = rules, now
    return rules


def text_stems(text: str) -> set[str]:
    return {stem(word) for word in words(text)}


def _cue_found(cues: tuple[str, ...], stems: set[str]) -> bool:
    if not cues:
        return True
    for cue in cues:
        if cue in stems:
            return True
        if len(cue) >= MIN_CUE_PART and any(
            s != cue and (s.startswith(cue) or s.endswith(cue)) for s in stems
        ):
            return True
    return False


def apply(areas: list[str], text: str, rules: list[Rule], known: set[str]):
    """The areas after the rules, and {area slug: reason} for the areas a rule added, moved
    or removed."""
    stems: set[str] | None = None  # the text's stems, once a rule needs them (few do)

    def found(cues):
        nonlocal stems
        if stems is None:
            stems = text_stems(text)
        return _cue_found(cues, stems)

    areas = list(areas)
    reasons: dict[str, str] = {}
    for kind in ("implies", "excludes"):  # implications first, so an exclusion can undo one
        for rule in rules:
            if rule.kind != kind or rule.area not in areas:
                continue
            if not found(rule.cues):
                continue
            if kind == "implies" and rule.other_area not in areas and rule.other_area in known:
                areas.append(rule.other_area)
                reasons[rule.other_area] = rule.reason
            elif kind == "excludes" and rule.other_area in areas[1:]:
                areas.remove(rule.other_area)
                reasons[rule.other_area] = rule.reason
    for rule in rules:
        if rule.kind != "before" or rule.area not in areas or rule.other_area not in areas:
            continue
        if areas[0] == rule.area and found(rule.cues):
            areas.remove(rule.other_area)
            areas.insert(0, rule.other_area)
            reasons[rule.other_area] = rule.reason
    return areas, reasons
