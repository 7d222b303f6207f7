from django.db.models import Prefetch

from departments.models import Department, ResponsibilityArea
from departments.search import rank_areas


def responsibility_map(*, query: str = ""):
    """Active areas with owner and consulted units, best matches first when searching."""
    areas = list(
        ResponsibilityArea.objects.active()
        .select_related("owner")
        .prefetch_related(
            Prefetch("consulted", queryset=Department.objects.active().order_by("name"))
        )
        .order_by("name")
    )
    if query.strip():
        return rank_areas(areas, query)
    return areas
