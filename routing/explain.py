"""Explanations in Swedish from the model itself: the words and phrases of the text that
weighed most for the chosen areas, the rules that added or moved an area, and the triage."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from routing import encoding
from routing.analysis import STOPWORDS, content_words, fold, stem

MAX_TERMS = 4
# The model may give weight to any word it has seen, but an officer learns nothing from
# "Frågan nämner ”need” och ”what”": these words are never shown as the reason (the
# explanation only; the model reads them as before). English function words and the frame
# of an English inquiry, and the Swedish frame words the analysis keeps.
_NOT_SHOWN_TEXT = """
    i me my myself we us our ours ourselves you your yours yourself he him his she her hers
    it its they them their theirs what which who whom whose this that these those am is are
    was were be been being have has had having do does did doing would could should might
    must shall will can cannot may a an the and but if or because as until while of at by
    for with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how all
    any both each few more most other some such no nor not only own same so than too very
    just also get got make need needs needed want wants wanted like would please hi hello
    dear thanks thank regards best kind wondering wonder know let ask asking question help
    behöver behövs ska skall vill undrar funderar gärna vet veta finns få får göra gör
    kommer bara också även redan gäller m ca tom osv etc
"""
NOT_SHOWN = frozenset(_NOT_SHOWN_TEXT.split()) | STOPWORDS
NOT_SHOWN_FOLDED = frozenset(fold(word) for word in NOT_SHOWN)


def _shown(term: str) -> bool:
    return not any(word in NOT_SHOWN or fold(word) in NOT_SHOWN_FOLDED for word in term.split())


def _join(items, conjunction):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _readable(feature: str, words_by_stem: dict[str, str]) -> str | None:
    """A feature as the company wrote it: a stem as its first word in the text, a stem
    bigram as the two words; character n-grams are not shown."""
    kind, _sep, value = feature.partition(":")
    if kind in ("w", "s", "c"):
        return words_by_stem.get(value, value if kind == "c" else None)
    if kind == "b":
        first, _sep, second = value.partition("_")
        if first in words_by_stem and second in words_by_stem:
            return f"{words_by_stem[first]} {words_by_stem[second]}"
    return None


def top_terms(model, subject, text, prediction, slug, contributing=False) -> list[str]:
    if slug not in model.areas:
        return []
    if prediction.words is not None:  # the words the model read, with their stems
        words_by_stem = encoding.words_by_stem(prediction.words)
    else:
        words_by_stem = {}
        for word in content_words(f"{subject}\n{text}"):
            words_by_stem.setdefault(stem(word), word)
    terms: list[str] = []
    area = model.areas.index(slug)
    for feature, _weight in model.top_features(prediction, area, contributing):
        term = _readable(feature, words_by_stem)
        if (
            term
            and _shown(term)
            and term not in terms
            and not any(term in t.split() for t in terms)
        ):
            terms = [t for t in terms if t not in term.split()] + [term]
        if len(terms) >= MAX_TERMS:
            break
    return [f"”{t}”" for t in terms]


def explain(
    model,
    subject,
    text,
    prediction,
    areas,
    reasons,
    department,
    needs_triage,
    chosen_area,
    confidence,
) -> str:
    and_word = pgettext("list conjunction", "och")
    if not areas:
        return _(
            "Frågan innehåller inga ord som pekar ut ett ansvarsområde, så den går till "
            "%(department)s för fördelning."
        ) % {"department": department.name if department else "–"}
    primary = areas[0].area
    terms = top_terms(model, subject, text, prediction, primary.slug)
    sentences = []
    if terms:
        sentences.append(
            _("Frågan nämner %(terms)s → %(area)s, som ägs av %(department)s.")
            % {
                "terms": _join(terms, and_word),
                "area": primary.name,
                "department": primary.owner.name,
            }
        )
    else:
        sentences.append(
            _("Texten liknar mest frågor om %(area)s, som ägs av %(department)s.")
            % {"area": primary.name, "department": primary.owner.name}
        )
    others = [scored.area for scored in areas[1:]]
    if others:
        described = []
        for other in others:
            words = top_terms(model, subject, text, prediction, other.slug, contributing=True)
            hint = f": {_join(words[:2], and_word)}" if words and other.slug not in reasons else ""
            described.append(f"{other.name} ({other.owner.name}{hint})")
        sentences.append(_("Den berör också %(areas)s.") % {"areas": _join(described, and_word)})
    for reason in reasons.values():
        sentences.append(_("Regel: %(reason)s") % {"reason": reason})
    if chosen_area is not None:
        if chosen_area.pk == primary.pk:
            sentences.append(_("Det stämmer med området som företaget valde."))
        elif all(chosen_area.pk != a.pk for a in others):
            sentences.append(
                _("Företaget valde %(area)s, men texten talar mer för %(primary)s.")
                % {"area": chosen_area.name, "primary": primary.name}
            )
    percent = round(100 * confidence)
    if needs_triage:
        sentences.append(
            _(
                "Bedömningen är osäker (%(percent)s %% säker), så ärendet går till "
                "%(department)s för fördelning. Förslag: %(suggestion)s."
            )
            % {"percent": percent, "department": department.name, "suggestion": primary.owner.name}
        )
    else:
        sentences.append(_("Säkerhet: %(percent)s %%.") % {"percent": percent})
    return " ".join(sentences)
