from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import views

router = SimpleRouter()
router.register("units", views.UnitViewSet, basename="unit")
router.register("areas", views.AreaViewSet, basename="area")
router.register("cases", views.CaseViewSet, basename="case")
router.register("events", views.EventViewSet, basename="event")

app_name = "api"


def _public(patterns):
    """The API authenticates by token, not by the staff login: the site-wide login
    requirement does not apply."""
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns


urlpatterns = [
    path("v1/", include(_public(router.urls))),
    # Anything else under the API is a 404 in the API's own format, not the site's page.
    re_path(r"^v1/", login_not_required(views.not_found), name="not_found"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "docs/",
        login_not_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="api/swagger_ui.html"
            )
        ),
        name="docs",
    ),
]
