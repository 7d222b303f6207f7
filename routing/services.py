"""Training data from the database, training a new model, and deciding when to retrain."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from routing import training
from routing.training import CASE_WEIGHT, CORRECTION_WEIGHT, AreaInfo, Example


def area_infos() -> list[AreaInfo]:
    from departments.models import ResponsibilityArea

    return [
        AreaInfo(a.slug, a.name, a.description, a.keyword_list, a.owner.slug)
        for a in ResponsibilityArea.objects.active().select_related("owner").order_by("slug")
    ]


def _corrected_cases():
    from cases.models import CaseEvent

    return CaseEvent.objects.filter(kind=CaseEvent.Kind.AREAS_CHANGED).values("case_id")


def case_examples() -> list[Example]:
    """Handled cases with the areas the officers left them with: closed cases, and cases
    whose areas an officer corrected (weighted most: the municipality's own judgement)."""
    from django.db.models import Q

    from cases.models import Case, CaseArea

    corrected = set(_corrected_cases().values_list("case_id", flat=True))
    cases = Case.objects.filter(Q(status=Case.Status.CLOSED) | Q(pk__in=corrected))
    rows = (
        CaseArea.objects.filter(case__in=cases)
        .order_by("case_id", "-is_primary", "position")
        .values_list("case_id", "case__subject", "case__description", "area__slug")
    )
    by_case: dict[int, Example] = {}
    for case_id, subject, description, slug in rows.iterator(chunk_size=2000):
        example = by_case.get(case_id)
        if example is None:
            weight = CORRECTION_WEIGHT if case_id in corrected else CASE_WEIGHT
            example = by_case[case_id] = Example(
                subject, description, [], weight, "correction" if case_id in corrected else "case"
            )
        if slug not in example.areas:
            example.areas.append(slug)
    return list(by_case.values())


def train_and_store(folds: int = 5):
    """Train on corpus, areas and handled cases; store the model as the active one."""
    from routing.api import get_model, invalidate
    from routing.models import TrainedRouter

    corpus, _held_out = training.corpus_split()
    model = training.train(
        corpus + case_examples(), area_infos(), folds=folds, calibration=get_model()
    )
    with transaction.atomic():
        row = TrainedRouter.objects.create(
            version=model.version,
            trained_at=parse_datetime(model.trained_at),
            counts=model.counts,
            scores=model.scores,
            artifact=model.dumps(),
        )
        keep = settings.ROUTER_KEEP_MODELS
        old = TrainedRouter.objects.order_by("-trained_at", "-pk").values_list("pk", flat=True)
        TrainedRouter.objects.filter(pk__in=list(old[keep:])).delete()
    invalidate()
    return row, model


def corrections_since_last_model() -> int:
    from cases.models import CaseEvent
    from routing.models import TrainedRouter

    last = TrainedRouter.objects.filter(is_active=True).order_by("-trained_at").first()
    events = CaseEvent.objects.filter(kind=CaseEvent.Kind.AREAS_CHANGED)
    if last is not None:
        events = events.filter(created_at__gt=last.trained_at)
    return events.count()


def retrain_due(now) -> str | None:
    """Why a new model should be trained now, or None: no model trained yet, the nightly
    hour, enough corrections since the last model, or a changed responsibility map."""
    from routing.api import get_model
    from routing.models import TrainedRouter

    last = TrainedRouter.objects.filter(is_active=True).order_by("-trained_at").first()
    if last is None:
        return "first"
    if training.area_signature(area_infos()) != get_model().area_signature:
        return "areas"
    if corrections_since_last_model() >= settings.ROUTER_RETRAIN_AFTER_CORRECTIONS:
        return "corrections"
    if now.hour == settings.ROUTER_RETRAIN_HOUR and (now - last.trained_at).total_seconds() > 3600:
        return "nightly"
    return None
