from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from foretagslots import login_throttle, views
from foretagslots.lazy_urls import lazy_include

urlpatterns = [
    path("", views.home, name="home"),
    path("tillganglighet/", views.accessibility, name="accessibility"),
    path("personuppgifter/", views.privacy, name="privacy"),
    path("ansvar/", include("departments.urls")),
    path("", include("cases.urls.public")),
    path("handlaggning/", include("cases.urls.staff")),
    path("handlaggning/", include("records.urls")),
    path("lots/moten/", include("meetings.urls")),
    path("lots/", include("insights.urls")),
    path("omdome/", include("insights.urls_public")),
    path("konto/logga-in/", login_throttle.LoginView.as_view(), name="login"),
    path("konto/logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("halsa/", views.health, name="health"),
    # DRF loads only in a process that serves (or reverses) an API URL.
    lazy_include("api/", "api.urls", namespace="api"),
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's).
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
]

if settings.OIDC_ENABLED:
    # the library's views, marked login_not_required (see foretagslots/oidc.py)
    urlpatterns.append(path("oidc/", include("foretagslots.oidc")))

admin.site.site_header = "Företagslotsen – administration"
admin.site.site_title = "Företagslotsen"

handler500 = "foretagslots.views.server_error"
