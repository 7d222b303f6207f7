"""The active responsibility areas with their owning units, and the triage unit, as routing
reads them."""

import threading
import time

# The active areas with their owning units, kept in this process like the rules: reading the 24
# areas and their units for every question was half of routing's time. Saving an area or a
# unit clears this process's copy at once; other processes read it again within
# AREAS_CHECK_SECONDS.
AREAS_CHECK_SECONDS = 60


class _Areas:
    lock = threading.Lock()
    by_slug: dict | None = None
    units: dict = {}  # {slug: unit or None}, units looked up by slug (the triage unit)
    loaded_at: float = 0.0


def forget_areas(**_kwargs) -> None:
    with _Areas.lock:
        _Areas.by_slug = None
        _Areas.units = {}


def active_areas() -> dict:
    """{slug: area} of the active areas with their owners (see AREAS_CHECK_SECONDS)."""
    from departments.models import ResponsibilityArea

    now = time.monotonic()
    with _Areas.lock:
        if _Areas.by_slug is not None and now - _Areas.loaded_at < AREAS_CHECK_SECONDS:
            return _Areas.by_slug
    by_slug = {a.slug: a for a in ResponsibilityArea.objects.active().select_related("owner")}
    with _Areas.lock:
        _Areas.by_slug, _Areas.units, _Areas.loaded_at = by_slug, {}, now
    return by_slug


def unit_by_slug(slug: str):
    """A unit (active or not) by its slug, or None; kept like the areas (one question in six
    goes to the triage unit, which was read for each of them)."""
    from departments.models import Department

    active_areas()  # the same clock: a fresh read of the areas reads the units again
    with _Areas.lock:
        if slug in _Areas.units:
            return _Areas.units[slug]
    unit = Department.objects.filter(slug=slug).first()
    with _Areas.lock:
        _Areas.units[slug] = unit
    return unit
