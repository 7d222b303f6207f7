"""The staff list renders its filter form and its table without template machinery per
option and per cell (cases.choices, cases.filters, cases/templatetags/case_rows.py): what the
officer sees must stay what the templates gave, and the dropdowns must follow every change
to units, areas and people at once, in this worker and in the others."""

import datetime
import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from cases import choices
from cases.models import Case, Company
from departments.models import Membership
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, coordinator, officer

pytestmark = pytest.mark.django_db

URL = reverse("staff:case_list")


def dropdown(page: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)


@pytest.fixture
def unit():
    return DepartmentFactory(slug="bygg", name="Bygglovsenheten")


@pytest.fixture
def staff_client(client, unit):
    client.force_login(officer(unit, "anna"))
    return client


def test_renaming_a_unit_an_area_or_a_person_shows_at_once_in_the_lists_filter(staff_client, unit):
    area = AreaFactory(name="Serveringstillstånd", owner=unit)
    bertil = officer(unit, "bertil")
    bertil.first_name, bertil.last_name = "Bertil", "Ek"
    bertil.save()
    staff_client.get(URL)  # this worker now holds the choices

    unit.name = "Bygg- och miljöenheten"
    unit.save()
    area.name = "Alkoholtillstånd"
    area.save()
    bertil.last_name = "Lind"
    bertil.save()
    page = staff_client.get(URL).content.decode()

    assert "Bygg- och miljöenheten" in dropdown(page, "unit")
    assert "Bygglovsenheten" not in dropdown(page, "unit")
    assert "Alkoholtillstånd" in dropdown(page, "area")
    assert "Serveringstillstånd" not in dropdown(page, "area")
    assert "Bertil Lind" in dropdown(page, "owner")
    assert "Bertil Ek" not in dropdown(page, "owner")


def test_a_change_saved_by_another_worker_is_seen_by_this_one(staff_client, unit):
    """Workers share only the cache: the one that saves replaces the version there; the
    others notice on their next page view and read the choices again."""
    staff_client.get(URL)
    held = choices._copy  # this worker's copy, as it was before the other one saved

    unit.name = "Miljöenheten"
    unit.save()  # "in the other worker"
    choices._copy = held
    page = staff_client.get(URL).content.decode()

    assert "Miljöenheten" in dropdown(page, "unit")


def test_a_new_member_and_a_removed_one_change_the_people_to_choose(staff_client, unit):
    staff_client.get(URL)
    cecilia = officer(DepartmentFactory(slug="miljo", name="Miljöenheten"), "cecilia")
    cecilia.first_name, cecilia.last_name = "Cecilia", "Berg"
    cecilia.save()
    assert "Cecilia Berg" in dropdown(staff_client.get(URL).content.decode(), "owner")

    Membership.objects.filter(user=cecilia).delete()
    assert "Cecilia Berg" not in dropdown(staff_client.get(URL).content.decode(), "owner")


def test_the_chosen_option_is_marked_and_all_is_in_the_pages_language(staff_client, unit):
    other = DepartmentFactory(slug="miljo", name="Miljö & hälsa")
    AreaFactory(name="Uteservering", name_en="Outdoor seating", owner=unit)
    AreaFactory(name="Bygglov", name_en="", owner=unit)
    page = staff_client.get(URL, {"unit": other.pk}).content.decode()
    units = dropdown(page, "unit")
    assert units.count(" selected") == 1
    assert f'<option value="{other.pk}" selected>Miljö &amp; hälsa</option>' in units
    assert '<option value="">Alla</option>' in units

    # The next page views: the options shared between page views keep no earlier choice.
    units = dropdown(staff_client.get(URL, {"unit": unit.pk}).content.decode(), "unit")
    assert units.count(" selected") == 1 and f'"{unit.pk}" selected' in units
    units = dropdown(staff_client.get(URL).content.decode(), "unit")
    assert " selected" not in units

    staff_client.cookies["django_language"] = "en"
    english = staff_client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="">All</option>' in dropdown(english, "unit")
    # Areas by their English names, as on the case page; Swedish where none is filled in.
    assert ">Outdoor seating</option>" in dropdown(english, "area")
    assert ">Bygglov</option>" in dropdown(english, "area")
    assert ">Uteservering</option>" in dropdown(page, "area")


# The table's rows as the template wrote them before case_rows (cases/staff/_case_table.html).
TEMPLATE_ROWS = """{% load i18n case_tags staff_tags %}{% for case in cases %}
    <tr>
      <td><a href="{{ case|staff_case_url }}">{{ case.reference }}</a> {{ case.subject }}</td>
      <td>{{ case.company.name }}{% if case.company.org_number %}<br><span class="small text-muted">{{ case.company.org_number_display }}</span>{% endif %}</td>
      <td>{% status_badge case %}</td>
      <td>{{ case.owning_department.name }}</td>
      <td>{{ case.owner|person|default:_("Ingen") }}</td>
      <td>{{ case.received_at|local_date:"j M Y" }}</td>
      <td>{% if case.is_open %}{% due_badge case.due_at %}{% else %}{% translate "Avslutat" %} {{ case.closed_at|local_date:"j M Y" }}{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


def test_the_tables_rows_are_what_the_template_gave(unit):
    from cases.templatetags.case_rows import case_rows

    today = timezone.localdate()
    anna = officer(unit, "anna")
    person = Company.objects.create(name="Eva <Enskild> & Co", org_number="811218-9876")
    cases = [
        CaseFactory(owning_department=unit, owner=anna, due_at=today + datetime.timedelta(days=9)),
        CaseFactory(owning_department=unit, due_at=today, subject="Tält & <scen>", company=person),
        CaseFactory(owning_department=unit, owner=anna, due_at=today - datetime.timedelta(days=8)),
        CaseFactory(
            owning_department=unit,
            status=Case.Status.WAITING_FOR_COMPANY,
            due_at=today + datetime.timedelta(days=1),
        ),
        CaseFactory(
            owning_department=unit,
            status=Case.Status.CLOSED,
            closed_at=timezone.now() - datetime.timedelta(days=40),
        ),
    ]
    cases = list(Case.objects.filter(pk__in=[c.pk for c in cases]).for_list().order_by("pk"))
    for language in ("sv", "en"):
        with translation.override(language):
            expected = Template(TEMPLATE_ROWS).render(Context({"cases": cases}))
            assert case_rows(cases) == expected


def test_the_list_page_shows_its_rows_and_the_coordinator_sees_all(client, unit):
    other = DepartmentFactory(slug="miljo", name="Miljöenheten")
    mine = CaseFactory(owning_department=unit, subject="Skylt på fasaden")
    theirs = CaseFactory(owning_department=other, subject="Buller från fläkt")
    client.force_login(officer(unit, "anna"))
    page = client.get(URL, {"status": "open"}).content.decode()
    assert mine.subject in page and theirs.subject not in page

    client.force_login(coordinator())
    page = client.get(URL, {"status": "open"}).content.decode()
    assert mine.subject in page and theirs.subject in page
    assert f'href="{reverse("staff:case_detail", args=[theirs.reference])}"' in page


def test_a_login_does_not_make_the_workers_read_the_choices_again(client, staff_client, unit):
    """Logging in stamps last_login on the user; nothing in the dropdowns changes, so the
    workers keep their choices (a new version would send every worker back to the database)."""
    bertil = officer(unit, "bertil")
    staff_client.get(URL)
    held = choices._copy

    client.logout()
    client.force_login(bertil)  # Django saves bertil's last_login

    assert bertil.last_login is not None
    assert choices._copy is held
