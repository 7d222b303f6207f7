"""Training data from the database, training a new model, and deciding when to retrain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

if TYPE_CHECKING:
    from routing.training import AreaInfo, Example

# routing.training (and numpy) is imported where a model is trained, not at start-up: every
# process imports this module (CasesConfig.ready registers the handled cases here).


def area_infos() -> list[AreaInfo]:
    from departments.models import ResponsibilityArea
    from routing.training import AreaInfo

    return [
        AreaInfo(a.slug, a.name, a.description, a.keyword_list, a.owner.slug)
        for a in ResponsibilityArea.objects.active().select_related("owner").order_by("slug")
    ]


# Where the handled cases come from. The cases app registers its functions in
# CasesConfig.ready, so that routing never imports cases: `examples()` -> the handled cases as
# training examples; `corrections_since(moment or None)` -> how many area corrections since.
_HANDLED = {"examples": lambda: [], "corrections_since": lambda since: 0}


def register_handled_cases(*, examples, corrections_since) -> None:
    _HANDLED.update(examples=examples, corrections_since=corrections_since)


def case_examples() -> list[Example]:
    """Handled cases with the areas the officers left them with (see the registered source)."""
    return _HANDLED["examples"]()


def train_and_store(folds: int = 5):
    """Train on corpus, areas and handled cases; store the model as the active one."""
    from routing import training
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
    from routing.models import TrainedRouter

    last = TrainedRouter.objects.filter(is_active=True).order_by("-trained_at").first()
    return _HANDLED["corrections_since"](last.trained_at if last is not None else None)


def retrain_due(now) -> str | None:
    """Why a new model should be trained now, or None: no model trained yet, the nightly
    hour, enough corrections since the last model, or a changed responsibility map."""
    from routing import training
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
