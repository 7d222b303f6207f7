"""The router's public API: `route()` for the intake, and what a case needs from routing.

The model is trained offline (`manage.py train_router`, the nightly Celery task) and loaded
here: the newest active TrainedRouter row, else the default artifact committed with the code
(trained on the corpus), so a fresh installation routes at once. A process looks for a newer
model at most every MODEL_CHECK_SECONDS (one indexed query) and never trains one itself.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import translation

from routing import rules as routing_rules
from routing.areas import active_areas, unit_by_slug
from routing.explain import explain
from routing.model import DEFAULT_ARTIFACT, RouterModel

MODEL_CHECK_SECONDS = 60
ARTIFACT_PIECE = 1 << 18  # a stored artifact is read 256 KiB at a time (see _artifact_pieces)
CHOSEN_AREA_BOOST = 4.0  # the company's own choice of area multiplies its probability by this


@dataclass(frozen=True)
class ScoredArea:
    area: object  # departments.models.ResponsibilityArea
    score: float  # probability (primary: that it is the primary area; others: that it is concerned)


@dataclass(frozen=True)
class RoutingResult:
    areas: list[ScoredArea]
    owning_department: object  # departments.models.Department
    confidence: float  # calibrated probability that the owning unit is right
    explanation: str
    needs_triage: bool
    suggested_department: object | None = None  # the unit the model would pick
    probabilities: dict | None = None  # {slug: primary probability}, highest first
    model_version: str = ""

    @property
    def primary_area(self):
        return self.areas[0].area if self.areas else None


class _Cache:
    lock = threading.Lock()
    model: RouterModel | None = None
    version_key: object = None
    checked_at: float = 0.0


def invalidate(**_kwargs) -> None:
    """Forget the loaded model: the next routing loads the newest (tests, after training)."""
    with _Cache.lock:
        _Cache.model = None
    routing_rules.invalidate()


def load_default() -> RouterModel:
    return RouterModel.load_file(DEFAULT_ARTIFACT)


def _newest_stored():
    from routing.models import TrainedRouter

    return TrainedRouter.objects.filter(is_active=True).order_by("-trained_at", "-pk")


def _artifact_pieces(pk: int):
    """A stored model's artifact, a piece at a time: read whole (~5 MB), the driver's text
    form of bytea and its copies took a web process's peak memory ~27 MiB up."""
    from django.db import connection

    from routing.models import TrainedRouter

    table = connection.ops.quote_name(TrainedRouter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT length(artifact) FROM {table} WHERE id = %s", [pk])  # noqa: S608
        (size,) = cursor.fetchone()
        for start in range(0, size, ARTIFACT_PIECE):
            cursor.execute(
                f"SELECT substr(artifact, %s, %s) FROM {table} WHERE id = %s",  # noqa: S608
                [start + 1, ARTIFACT_PIECE, pk],
            )
            yield bytes(cursor.fetchone()[0])


def _stored_artifact(pk: int) -> bytearray:
    return bytearray().join(_artifact_pieces(pk))


def _load_stored(pk: int, version: str) -> RouterModel:
    """A stored model, mapped from a file in ROUTER_CACHE_DIR that the first process to load
    it writes, so that the workers of a machine share its weights (as they share the default
    model's); read into memory where that directory cannot be written."""
    directory = Path(settings.ROUTER_CACHE_DIR)
    # (".3": files written before format 3 are left for the clean-up below)
    path = directory / f"{pk}-{re.sub(r'[^0-9A-Za-z_.-]', '_', version)}.3.router"
    if not path.exists():
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                for piece in _artifact_pieces(pk):
                    out.write(piece)
            with partial.open("rb") as stored:
                kind = RouterModel.artifact_format(stored.read(64))
            if kind < 3:  # a row from before format 3: converted once (this imports numpy)
                data = RouterModel.load_file(partial).dumps()
                partial.unlink()
                partial.write_bytes(data)
            os.replace(partial, path)  # whole, or not there
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            return RouterModel.loads(_stored_artifact(pk))
        for older in directory.glob("*.router"):  # a process that maps one keeps it
            if older != path:
                older.unlink(missing_ok=True)
    return RouterModel.load_file(path)


def get_model() -> RouterModel:
    now = time.monotonic()
    with _Cache.lock:
        if _Cache.model is not None and now - _Cache.checked_at < MODEL_CHECK_SECONDS:
            return _Cache.model
        newest = _newest_stored().values_list("pk", "version").first()
        key = newest[0] if newest is not None else None
        if _Cache.model is None or key != _Cache.version_key:
            model = load_default() if newest is None else _load_stored(*newest)
            _Cache.model, _Cache.version_key = model, key
        _Cache.checked_at = now
        return _Cache.model


def triage_department():
    return unit_by_slug(getattr(settings, "TRIAGE_DEPARTMENT_SLUG", "naringslivsenheten"))


def route(subject: str, text: str, chosen_area=None) -> RoutingResult:
    """Route a company's question: ranked areas, owning unit and why. (Which officer of the
    unit takes it is the cases app's choice: `cases.owners.propose_owner`.)"""
    from departments.models import Department

    model = get_model()
    by_slug = active_areas()
    prediction = model.predict(subject, text, explain=True)
    known = [slug in by_slug for slug in model.areas]
    primary = [p if ok else 0.0 for p, ok in zip(prediction.primary, known, strict=True)]
    if chosen_area is not None and chosen_area.slug in model.areas:
        primary[model.areas.index(chosen_area.slug)] *= CHOSEN_AREA_BOOST
    total = sum(primary)
    if total > 0:
        primary = [p / total for p in primary]
    contributing = [c if ok else 0.0 for c, ok in zip(prediction.contributing, known, strict=True)]

    areas: list[ScoredArea] = []
    reasons: dict[str, str] = {}
    confidence = 0.0
    if total > 0:
        chosen = model.decide_areas(primary, contributing)
        slugs = [model.areas[i] for i in chosen]
        slugs, reasons = routing_rules.apply(
            slugs, f"{subject}\n{text}", routing_rules.active_rules(), set(by_slug)
        )
        column = {slug: index for index, slug in enumerate(model.areas)}
        for position, slug in enumerate(slugs):
            scores = primary if position == 0 else contributing
            score = scores[column[slug]] if slug in column else 0.0  # a rule's newer area
            areas.append(ScoredArea(by_slug[slug], round(float(score), 3)))
        owner_id = areas[0].area.owner_id
        confidence = float(
            sum(
                p
                for slug, p in zip(model.areas, primary, strict=True)
                if slug in by_slug and by_slug[slug].owner_id == owner_id
            )
        )
    elif chosen_area is not None:
        areas = [ScoredArea(chosen_area, 0.0)]

    needs_triage = not areas or confidence < model.triage_threshold
    suggested = areas[0].area.owner if areas else None
    triage = triage_department() if needs_triage else None
    department = triage or suggested
    if department is None:  # nothing to go on and no triage unit: any active unit, never none
        department = Department.objects.active().order_by("pk").first()
        needs_triage = True

    probabilities = {  # equal ones in column order
        model.areas[i]: round(float(primary[i]), 3)
        for i in heapq.nlargest(5, range(len(primary)), key=primary.__getitem__)
        if primary[i] > 0
    }
    # The explanation is saved on the case, which staff read in Swedish, whatever language
    # the company asked in.
    with translation.override(settings.LANGUAGE_CODE):
        explanation = explain(
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
        )
    return RoutingResult(
        areas=areas,
        owning_department=department,
        confidence=round(confidence, 3),
        explanation=explanation,
        needs_triage=needs_triage,
        suggested_department=suggested,
        probabilities=probabilities,
        model_version=model.version,
    )
