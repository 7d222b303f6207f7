"""The lots coordinator's dashboard: figures, who sees what, lists, charts, CSV, query count."""

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseDepartment, CaseOwnershipPeriod, Company, Transfer
from insights.models import Feedback
from insights.periods import parse_period
from insights.selectors import dashboard
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    coordinator,
    lead,
    officer,
)

NOW = dt.datetime(2026, 3, 18, 10, 0)  # a Wednesday, Stockholm time


def at(*args):
    return timezone.make_aware(dt.datetime(*args))


@pytest.fixture
def frozen():
    with time_machine.travel(at(2026, 3, 18, 10, 0), tick=False):
        yield


@pytest.fixture
def world(db, frozen):
    """Two units, a few cases in March 2026 and one in February."""
    bygg = DepartmentFactory(name="Bygglovsenheten", slug="bygg")
    miljo = DepartmentFactory(name="Miljöenheten", slug="miljo")
    bygglov = AreaFactory(slug="bygglov", name="Bygglov", owner=bygg, insikt_area="bygglov")
    miljoarea = AreaFactory(slug="miljo-area", name="Miljöfrågor", owner=miljo)
    anna = officer(bygg, username="anna")
    sole_trader = Company.objects.create(name="Lisas Fik", org_number="121212-1212")

    answered_in_time = CaseFactory(
        owning_department=bygg,
        owner=anna,
        primary_area=bygglov,
        insikt_area="bygglov",
        company=sole_trader,
        subject="Altan",
        received_at=at(2026, 3, 2, 9),  # Monday
        first_answer_due=dt.date(2026, 3, 4),
        first_answered_at=at(2026, 3, 4, 11),  # 2 working days
        due_at=dt.date(2026, 3, 16),
        closed_at=at(2026, 3, 13, 15),  # 9 working days
        status=Case.Status.CLOSED,
    )
    answered_late = CaseFactory(
        owning_department=bygg,
        owner=anna,
        primary_area=bygglov,
        subject="Carport",
        received_at=at(2026, 3, 3, 9),  # Tuesday
        first_answer_due=dt.date(2026, 3, 5),
        first_answered_at=at(2026, 3, 9, 9),  # 4 working days (over a weekend)
        due_at=dt.date(2026, 3, 31),
        status=Case.Status.IN_PROGRESS,
        channel=Case.Channel.PHONE,
    )
    bouncing = CaseFactory(
        owning_department=miljo,
        owner=None,
        primary_area=miljoarea,
        subject="Oljeavskiljare",
        received_at=at(2026, 3, 5, 9),
        first_answer_due=dt.date(2026, 3, 9),
        due_at=dt.date(2026, 3, 10),
        transfer_count=2,
    )
    february = CaseFactory(
        owning_department=bygg,
        owner=anna,
        primary_area=bygglov,
        received_at=at(2026, 2, 10, 9),
        first_answer_due=dt.date(2026, 2, 12),
        first_answered_at=at(2026, 2, 11, 9),
        due_at=dt.date(2026, 2, 24),
        closed_at=at(2026, 2, 20, 9),
        status=Case.Status.CLOSED,
    )
    Transfer.objects.create(
        case=bouncing,
        from_department=bygg,
        to_department=miljo,
        reason="Gäller miljö",
        status=Transfer.Status.DECLINED,
        created_at=at(2026, 3, 9, 9),
        decided_at=at(2026, 3, 10, 9),
    )
    CaseDepartment.objects.create(
        case=answered_late,
        department=miljo,
        role=CaseDepartment.Role.CONTRIBUTOR,
        question="Strandskydd?",
        requested_at=at(2026, 3, 10, 9),
        due_on=dt.date(2026, 3, 12),
    )
    CaseOwnershipPeriod.objects.create(
        case=answered_late, department=bygg, started_at=at(2026, 3, 3, 9)
    )
    for overall in (6, 5, 4):
        Feedback.objects.create(
            case=answered_in_time,
            email="x@example.se",
            department=bygg,
            area=bygglov,
            insikt_area="bygglov",
            answered_at=at(2026, 3, 14, 9),
            nki_overall=overall,
            nki_expectations=5,
            nki_ideal=5,
            information=6,
            accessibility=6,
            treatment=6,
            competence=6,
            legal_certainty=6,
            efficiency=6,
        )
    return {
        "bygg": bygg,
        "miljo": miljo,
        "anna": anna,
        "in_time": answered_in_time,
        "late": answered_late,
        "bouncing": bouncing,
        "february": february,
    }


def _figures(board):
    return {item["key"]: item for item in board.headline}


def test_coordinator_sees_the_period_figures_with_the_change(world):
    board = dashboard(user=coordinator(), period=parse_period({"period": "month"}))

    figures = _figures(board)
    assert figures["received"]["value"] == 3
    assert figures["received"]["previous"] == 1
    assert figures["open"]["value"] == 2
    assert figures["unowned"]["value"] == 1
    assert figures["unowned"]["alarm"] is True
    assert figures["overdue"]["value"] == 1
    assert figures["median_first"]["value"] == 3.0  # 2 and 4 working days
    assert figures["median_first"]["previous"] == 1.0
    assert figures["median_close"]["value"] == 9.0
    assert figures["on_time"]["value"] == pytest.approx(100 / 3)
    assert figures["transfers"]["value"] == pytest.approx(2 / 3)
    assert figures["bouncing"]["value"] == 1
    assert figures["declined"]["value"] == 1
    assert figures["contributions"]["value"] == 1
    assert figures["nki"]["value"] == pytest.approx((80 + 80 + 80) / 3)
    assert "osäkert" in figures["nki"]["note"]


def test_per_unit_table_and_uncertain_nki(world):
    board = dashboard(user=coordinator(), period=parse_period({"period": "month"}))

    rows = {row["slug"]: row for row in board.tables["enheter"].rows}
    assert rows["bygg"]["received"] == 2
    assert rows["bygg"]["median_first"] == 3.0
    assert rows["bygg"]["on_time"] == 50.0
    assert rows["bygg"]["nki_n"] == 3 and rows["bygg"]["uncertain"] is True
    assert rows["miljo"]["unowned"] == 1 and rows["miljo"]["declined"] == 1
    assert rows["bygg"]["held_days"] > 0
    areas = {row["slug"]: row for row in board.tables["omraden"].rows}
    assert areas["bygglov"]["received"] == 2
    insikt = board.tables["nki-insikt"].rows
    assert [row["name"]["text"] for row in insikt] == ["Bygglov"]
    assert insikt[0]["is_uncertain"] is True


def test_page_lists_link_to_the_staff_case_pages(client, world):
    client.force_login(coordinator())

    response = client.get("/lots/?period=month")

    html = response.content.decode()
    assert response.status_code == 200
    bouncing = world["bouncing"].reference
    assert f'href="{reverse("staff:case_detail", args=[bouncing])}"' in html
    assert "Utan helhetsansvarig nu" in html
    assert "insights-alarm" in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_charts_are_svg_with_a_text_alternative_and_a_table(client, world):
    client.force_login(coordinator())

    html = client.get("/lots/?period=month").content.decode()

    assert html.count("<svg") == 3
    for chart in ("chart-intake", "chart-on-time", "chart-nki"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<desc id="{chart}-desc">' in html
    assert "3 ärenden kom in" in html
    for table in ("tabell-inflode", "tabell-i-tid", "tabell-nki-insikt"):
        assert f'id="{table}"' in html


def test_unit_lead_sees_only_their_units_part(client, world):
    boss = lead(world["miljo"], username="miljochef")
    client.force_login(boss)

    response = client.get("/lots/?period=month")

    assert response.status_code == 200
    board = response.context["board"]
    assert [row["slug"] for row in board.tables["enheter"].rows] == ["miljo"]
    assert _figures(board)["received"]["value"] == 1
    html = response.content.decode()
    assert world["bouncing"].reference in html
    assert world["late"].reference not in html
    assert client.get("/lots/export/insikt-arenden.csv").status_code == 403


def test_officers_and_strangers_are_kept_out(client, world):
    client.force_login(world["anna"])
    assert client.get("/lots/").status_code == 403
    assert client.get("/lots/export/enheter.csv").status_code == 403
    client.logout()
    assert client.get("/lots/").status_code == 302  # to the login page


def test_tables_sort_on_the_server(client, world):
    client.force_login(coordinator())

    by_received = client.get("/lots/?period=month&sort_enheter=-received").context
    by_name = client.get("/lots/?period=month&sort_enheter=-name").context

    table = by_received["main_tables"][0]
    assert [row["slug"] for row in table.rows] == ["bygg", "miljo"]
    assert [row["slug"] for row in by_name["main_tables"][0].rows] == ["miljo", "bygg"]
    assert (
        'aria-sort="descending"'
        in client.get("/lots/?period=month&sort_enheter=-received").content.decode()
    )


def test_a_bad_custom_period_is_explained_in_swedish(client, world):
    client.force_login(coordinator())

    response = client.get("/lots/?period=custom&from=2026-03-20&to=2026-03-01")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Slutdatumet kan inte vara före startdatumet." in html
    # The choice stays on the custom period, so that correcting the dates is all it takes.
    assert '<option value="custom" selected>' in html
    assert '<option value="month" selected>' not in html


def _csv(response):
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig")), delimiter=";"))


def test_every_table_exports_as_csv(client, world):
    client.force_login(coordinator())

    for name in ("nyckeltal", "enheter", "omraden", "nki", "nki-insikt", "inflode", "i-tid"):
        response = client.get(f"/lots/export/{name}.csv?period=month")
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/csv")
    rows = _csv(client.get("/lots/export/enheter.csv?period=month&sort_enheter=name"))
    assert rows[0][0] == "Enhet"
    assert [row[0] for row in rows[1:]] == ["Bygglovsenheten", "Miljöenheten"]
    overdue = _csv(client.get("/lots/export/forsenade.csv"))
    assert overdue[1][0] == world["bouncing"].reference
    assert client.get("/lots/export/finns-inte.csv").status_code == 404


def test_case_list_csv_honours_filters_and_masks_personnummer(client, world):
    client.force_login(coordinator())

    rows = _csv(client.get("/lots/export/arenden.csv?unit=bygg&from=2026-03-01"))
    assert sorted(row[0] for row in rows[1:]) == sorted(
        [world["in_time"].reference, world["late"].reference]
    )
    masked = next(row for row in rows if row[0] == world["in_time"].reference)
    assert "121212-****" in masked
    assert "121212-1212" not in ";".join(masked)

    phone = _csv(client.get("/lots/export/arenden.csv?channel=phone&status=in_progress"))
    assert [row[0] for row in phone[1:]] == [world["late"].reference]
    overdue = _csv(client.get("/lots/export/arenden.csv?overdue=1"))
    assert [row[0] for row in overdue[1:]] == [world["bouncing"].reference]
    bad = client.get("/lots/export/arenden.csv?from=igår")
    assert bad.status_code == 400 and "ÅÅÅÅ-MM-DD" in bad.content.decode()


def test_case_list_csv_has_only_cases_the_user_may_see(client, world):
    client.force_login(world["anna"])

    rows = _csv(client.get("/lots/export/arenden.csv"))

    references = {row[0] for row in rows[1:]}
    assert world["late"].reference in references
    assert world["bouncing"].reference not in references


def test_insikt_export_lists_closed_cases_without_a_sole_traders_personnummer(client, world):
    client.force_login(coordinator())

    rows = _csv(client.get("/lots/export/insikt-arenden.csv?period=month"))

    assert rows[0][:3] == ["Ärendenummer", "Insiktområde (kod)", "Insiktområde"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Ärendenummer"] == world["in_time"].reference
    assert row["Insiktområde (kod)"] == "bygglov"
    assert row["Avslutat"] == "2026-03-13"
    assert row["Organisationsnummer"] == ""
    assert row["Enskild firma"] == "ja"


def _many_cases(n, unit, area, user):
    for index in range(n):
        case = CaseFactory(
            owning_department=unit,
            owner=user if index % 3 else None,
            primary_area=area,
            received_at=at(2026, 3, 2 + index % 14, 9),
            first_answer_due=dt.date(2026, 3, 16),
            first_answered_at=at(2026, 3, 16, 9) if index % 2 else None,
            due_at=dt.date(2026, 3, 17),
            transfer_count=index % 4,
        )
        CaseOwnershipPeriod.objects.create(case=case, department=unit, started_at=case.received_at)
        if index % 5 == 0:
            CaseDepartment.objects.create(
                case=case, department=DepartmentFactory(), requested_at=case.received_at
            )


def _count_queries(client, url):
    cache.clear()  # count the queries of a cold page, period figures included
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_query_count_does_not_grow_with_the_cases(client, db, frozen):
    unit = DepartmentFactory(name="Enheten", slug="enheten")
    area = AreaFactory(owner=unit, insikt_area="bygglov")
    user = officer(unit)
    client.force_login(coordinator())
    _many_cases(5, unit, area, user)
    client.get("/lots/")  # warm the session and permission caches
    few = _count_queries(client, "/lots/?period=month")
    _many_cases(45, unit, area, user)
    many = _count_queries(client, "/lots/?period=month")

    assert few == many
    assert many <= 30


def test_periods_compare_with_the_same_stretch_before():
    today = dt.date(2026, 3, 18)

    year = parse_period({"period": "year"}, today)
    quarter = parse_period({"period": "quarter"}, today)
    week = parse_period({"period": "week"}, today)
    custom = parse_period({"period": "custom", "from": "2026-03-01", "to": "2026-03-10"}, today)

    assert (year.start, year.end) == (dt.date(2026, 1, 1), today)
    assert (year.prev_start, year.prev_end) == (dt.date(2025, 1, 1), dt.date(2025, 3, 18))
    assert (quarter.start, quarter.prev_start) == (dt.date(2026, 1, 1), dt.date(2025, 10, 1))
    assert (week.start, week.prev_start, week.prev_end) == (
        dt.date(2026, 3, 16),
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 11),
    )
    assert (custom.prev_start, custom.prev_end) == (dt.date(2026, 2, 19), dt.date(2026, 2, 28))


def test_period_figures_are_kept_a_while_but_now_figures_stay_live(client, world):
    client.force_login(coordinator())
    client.get("/lots/?period=month")
    CaseFactory(
        owning_department=world["bygg"],
        received_at=at(2026, 3, 17, 9),
        first_answer_due=dt.date(2026, 3, 19),
        due_at=dt.date(2026, 3, 31),
    )

    board = client.get("/lots/?period=month").context["board"]

    figures = _figures(board)
    assert figures["unowned"]["value"] == 2  # live
    assert figures["received"]["value"] == 3  # from the cache
    cache.clear()
    assert _figures(client.get("/lots/?period=month").context["board"])["received"]["value"] == 4


def test_case_list_csv_takes_the_staff_lists_own_query_string(client, world):
    client.force_login(coordinator())

    query = f"unit={world['miljo'].pk}&received_from=2026-03-01&received_to=2026-03-31&status=open"
    rows = _csv(client.get(f"/lots/export/arenden.csv?{query}"))

    assert [row[0] for row in rows[1:]] == [world["bouncing"].reference]


def test_case_list_csv_link_explains_its_filters_in_swedish(client, world):
    client.force_login(coordinator())

    page = client.get("/lots/?period=month").content.decode()

    assert "samma filter som i ärendelistan kan läggas till i adressen" in page
    assert "overdue, channel" not in page  # query parameter names are not text for people


def test_background_warm_up_brings_new_cases_into_the_cached_figures(client, world):
    from insights.tasks import dashboard_warm_task

    client.force_login(coordinator())
    client.get("/lots/?period=month")
    CaseFactory(
        owning_department=world["bygg"],
        received_at=at(2026, 3, 17, 9),
        first_answer_due=dt.date(2026, 3, 19),
        due_at=dt.date(2026, 3, 31),
    )
    assert _figures(client.get("/lots/?period=month").context["board"])["received"]["value"] == 3

    dashboard_warm_task.delay()
    dashboard_warm_task.delay()  # a second run changes nothing

    with CaptureQueriesContext(connection) as warm_page:
        board = client.get("/lots/?period=year").context["board"]
    assert _figures(client.get("/lots/?period=month").context["board"])["received"]["value"] == 4
    assert _figures(board)["received"]["value"] >= 4
    cache.clear()
    with CaptureQueriesContext(connection) as cold_page:
        client.get("/lots/?period=year")
    assert len(warm_page) < len(cold_page)  # the year's aggregates came from the warm-up


def test_stalls_come_first_late_and_unowned_then_bouncing_time_per_unit_and_slow_areas(
    client, world
):
    client.force_login(coordinator())
    html = client.get("/lots/?period=month").content.decode()
    order = [
        html.index('id="tabell-forsenade"'),
        html.index('id="tabell-ej-agda"'),
        html.index('id="tabell-studsande"'),
        html.index('id="tabell-tid-per-enhet"'),
        html.index('id="tabell-langst-ledtid"'),
        html.index('id="tabell-enheter"'),
    ]
    assert order == sorted(order)
    for name in ("tid-per-enhet", "langst-ledtid"):
        assert client.get(f"/lots/export/{name}.csv?period=month").status_code == 200


def test_wide_tables_fold_secondary_columns_behind_a_button(client, world):
    client.force_login(coordinator())
    html = client.get("/lots/?period=month").content.decode()
    units = html[html.index('id="tabell-enheter"') :]
    units = units[: units.index("</section>")]
    assert "data-collapsible" in units and "Visa alla kolumner" in units
    headers = units[units.index("<thead>") : units.index("</thead>")]
    # The key figures come before the folded columns.
    assert headers.index("Försenade") < headers.index('class="col-secondary"')
    assert headers.index("Avböjda överlämningar") > headers.index('class="col-secondary"')


def test_chart_legends_stay_inside_the_chart_however_long_the_unit_names():
    """A legend item that no longer fits on its row starts the next one ("Norrtälje vatten
    och avfall" ran past the chart's right edge and was cut), the chart grows to hold every
    row, and a full NKI bar leaves room for "100 (osäkert)"."""
    from insights import charts

    names = [
        "Bygglovsenheten",
        "Gatu/park",
        "Mark och exploatering",
        "Miljö och hälsa",
        "Norrtälje vatten och avfall",
        "Södra Roslagens miljö- och hälsoskyddskontor",
        "Räddningstjänsten Roslagen",
        "Näringslivsenheten",
    ]
    series = [(name, [50, 60]) for name in names]
    for svg in (
        charts.lines("c1", "Andel", "Andel per enhet", ["okt", "nov"], series),
        charts.stacked_bars("c2", "Antal", "Antal per enhet", ["okt", "nov"], series),
    ):
        height = float(re.search(r'viewBox="0 0 \d+ (\d+)"', svg).group(1))
        for x, y, label in re.findall(
            r'<text x="([\d.]+)" y="([\d.]+)" font-size="11" fill="#222">([^<]+)</text>', svg
        ):
            assert float(x) + 7 * len(label) <= charts.WIDTH, label
            assert float(y) + 4 <= height, label
    nki = charts.horizontal_bars(
        "c3", "NKI", "NKI per enhet", [(name, 100, "(osäkert)") for name in names[:3]]
    )
    for x, text in re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" font-size="12" fill="#222">([^<]+)', nki
    ):
        if text.startswith("100"):
            assert float(x) + 7.5 * len(text) <= charts.WIDTH, text
