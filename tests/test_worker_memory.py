"""What a web worker imports: the libraries only some requests need load with the first such
request, not with every page (issue 14: a worker's memory). Each check runs in a fresh
process, as a gunicorn worker starts."""

import subprocess
import sys

from django.template import engines

PAGE = (
    "import sys, django; django.setup()\n"
    "from django import forms\n"
    "from django.test import Client\n"
    "response = Client().get('/')\n"
    "assert response.status_code == 200, response.status_code\n"
    "class Question(forms.Form):\n"
    "    subject = forms.CharField()\n"
    "str(Question())\n"  # a widget, through the form renderer's own engine
)


def _loaded_after(code: str, *modules: str) -> list[str]:
    script = code + f"print(*[name for name in {modules!r} if name in sys.modules])\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_page_does_not_load_the_api_framework_until_an_api_url_is_asked_for():
    """DRF, drf-spectacular and what they pull in (requests, pygments; ~12 MiB) load in a
    process that serves the API, not in one that renders the public form and staff pages."""
    api = (
        "rest_framework.views",
        "rest_framework.serializers",
        "drf_spectacular.views",
        "requests",
    )
    assert _loaded_after(PAGE, *api) == []

    reversed_ = (
        PAGE
        + "from django.urls import reverse\nassert reverse('api:case-list') == '/api/v1/cases/'\n"
    )
    assert "rest_framework.views" in _loaded_after(reversed_, *api)


def test_a_page_does_not_load_the_calendar_library():
    """icalendar (~80 modules) is for meeting invitations only."""
    code = PAGE + "import foretagslots.urls, meetings.views, meetings.services\n"
    assert _loaded_after(code, "icalendar") == []


def test_drf_tags_still_load_where_a_template_asks_for_them():
    template = engines["django"].from_string("{% load rest_framework %}{{ 'a'|add_class:'b' }}")
    assert template.render({}) == "a"
