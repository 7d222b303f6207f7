"""Gallring: personal data of closed cases is anonymised after the area's retention period,
keeping what statistics need, and the disposal is recorded."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.models import Case, CaseEvent, CaseFollower, Company, Message
from cases.services.company import case_add_follower, case_company_message
from cases.services.intake import Inquiry, case_create
from departments.models import ResponsibilityArea
from outbox.models import OutgoingEmail
from records.retention import REMOVED, months_before, retention_sweep, retention_sweep_task

pytestmark = pytest.mark.django_db

SOLE_TRADER = "811218-9876"  # a personnummer: digits 3–4 are a month
NOW = timezone.make_aware(dt.datetime(2030, 6, 15, 12, 0))


def closed_case(*, org_number=SOLE_TRADER, area_slug="bygglov", closed_months_ago=37):
    area = ResponsibilityArea.objects.get(slug=area_slug)
    case, follower = case_create(
        inquiry=Inquiry(
            org_number=org_number,
            company_name="Annas Hantverk",
            contact_name="Anna Svensson",
            email="anna@hantverk.se",
            phone="070-123 45 67",
            subject="Bygglov för altan",
            description="Jag, Anna Svensson på Storgatan 1, vill bygga en altan.",
            area=area,
        )
    )
    case_company_message(follower_id=follower.pk, body="Mitt telefonnummer är 070-123 45 67.")
    colleague = case_add_follower(
        follower_id=follower.pk, name="Bertil Svensson", email="bertil@hantverk.se"
    )
    closed_at = months_before(NOW, closed_months_ago)
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_at=closed_at, primary_area=area
    )
    OutgoingEmail.objects.filter(subject_id=case.pk).update(status="sent")
    case.refresh_from_db()
    return case, follower, colleague


def test_case_past_retention_is_anonymised_and_keeps_what_statistics_need(norrtalje):
    case, follower, colleague = closed_case()
    before = Case.objects.values(
        "reference",
        "subject",
        "status",
        "received_at",
        "closed_at",
        "owning_department",
        "primary_area",
        "first_answer_due",
        "due_at",
        "transfer_count",
        "insikt_area",
    ).get(pk=case.pk)
    areas_before = list(case.case_areas.values_list("area_id", flat=True))
    messages_before = case.messages.count()

    disposals = retention_sweep(now=NOW)

    assert [d.reference for d in disposals] == [case.reference]
    case.refresh_from_db()
    assert case.anonymised_at == NOW
    assert "Anna" not in case.contact_name and "anna@" not in case.contact_email
    assert case.contact_phone == "" and case.description == REMOVED
    for person in CaseFollower.objects.filter(case=case):
        assert "Svensson" not in person.name and "hantverk.se" not in person.email
        assert person.revoked_at is not None
    assert Message.objects.get(case=case, kind="from_company").body == REMOVED
    assert Company.objects.get(pk=case.company_id).org_number is None
    # statistics keep everything they use
    after = Case.objects.values(*before.keys()).get(pk=case.pk)
    assert after == before
    assert list(case.case_areas.values_list("area_id", flat=True)) == areas_before
    assert case.messages.count() == messages_before
    # no name of a company person left in the timeline or in the e-mail log
    for event in case.events.all():
        assert "Svensson" not in str(event.data)
    for email in OutgoingEmail.objects.filter(subject_id=case.pk):
        assert "hantverk.se" not in email.to and "Anna" not in email.body
    # the disposal is recorded with what was done
    event = case.events.get(kind=CaseEvent.Kind.ANONYMISED)
    assert "personnummer (enskild firma)" in event.data["done"]
    assert event.data["retention_months"] == 36
    assert not event.is_public


def test_tracking_links_stop_working_after_disposal(client, norrtalje):
    case, follower, colleague = closed_case()
    old_tokens = [follower.token, colleague.token]

    retention_sweep(now=NOW)

    for token in old_tokens:
        assert selectors.follower_by_token(token) is None
        assert client.get(reverse("cases_public:tracking", args=[token])).status_code == 404


def test_case_within_retention_or_open_is_left_alone(norrtalje):
    recent, *_ = closed_case(closed_months_ago=35)
    open_case, *_ = closed_case(org_number="556036-0793", closed_months_ago=40)
    Case.objects.filter(pk=open_case.pk).update(status=Case.Status.IN_PROGRESS, closed_at=None)

    assert retention_sweep(now=NOW) == []
    recent.refresh_from_db()
    assert recent.anonymised_at is None and recent.contact_name == "Anna Svensson"


def test_area_retention_setting_decides_and_zero_means_kept_for_good(norrtalje):
    ResponsibilityArea.objects.filter(slug="bygglov").update(retention_months=12)
    short, *_ = closed_case(closed_months_ago=13)
    ResponsibilityArea.objects.filter(slug="livsmedel").update(retention_months=0)
    kept, *_ = closed_case(org_number="556036-0793", area_slug="livsmedel", closed_months_ago=200)

    references = [d.reference for d in retention_sweep(now=NOW)]

    assert references == [short.reference]
    kept.refresh_from_db()
    assert kept.anonymised_at is None


def test_organisation_number_of_a_limited_company_is_kept(norrtalje):
    case, *_ = closed_case(org_number="556036-0793")
    retention_sweep(now=NOW)
    assert Company.objects.get(pk=case.company_id).org_number == "556036-0793"


def test_personnummer_stays_while_another_case_of_the_sole_trader_is_open(norrtalje):
    old, *_ = closed_case()
    newer, *_ = closed_case(closed_months_ago=1)

    retention_sweep(now=NOW)

    assert Company.objects.get(pk=old.company_id).org_number == SOLE_TRADER
    old.refresh_from_db()
    assert old.anonymised_at is not None and newer.company_id == old.company_id


def test_sweep_twice_does_nothing_the_second_time(norrtalje):
    closed_case()
    assert len(retention_sweep(now=NOW)) == 1
    assert retention_sweep(now=NOW) == []
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ANONYMISED).count() == 1


def test_dry_run_changes_nothing_and_says_what_would_be_done(norrtalje):
    case, *_ = closed_case()

    disposals = retention_sweep(now=NOW, dry_run=True)

    assert [d.reference for d in disposals] == [case.reference]
    case.refresh_from_db()
    assert case.anonymised_at is None and case.contact_name == "Anna Svensson"
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.ANONYMISED).exists()


def test_gallra_command_dry_run_prints_and_real_run_anonymises(norrtalje, time_machine):
    time_machine.move_to(NOW)
    case, *_ = closed_case()
    out = StringIO()

    call_command("gallra", "--dry-run", stdout=out)

    assert case.reference in out.getvalue() and "Inget ändrades" in out.getvalue()
    assert Case.objects.get(pk=case.pk).anonymised_at is None

    out = StringIO()
    call_command("gallra", stdout=out)
    assert "1 ärenden gallrades" in out.getvalue()
    assert Case.objects.get(pk=case.pk).anonymised_at is not None


def test_celery_task_is_registered_under_the_beat_schedule_name(norrtalje, time_machine):
    from django.conf import settings

    from foretagslots.celery import app

    time_machine.move_to(NOW)
    closed_case()
    name = settings.CELERY_BEAT_SCHEDULE["retention"]["task"]
    assert name in app.tasks
    assert retention_sweep_task.delay().get() == 1


def test_sweep_uses_a_fixed_number_of_queries_to_find_cases(
    norrtalje, django_assert_max_num_queries
):
    from records.retention import due_for_disposal

    for _ in range(5):
        closed_case(org_number="")
    with django_assert_max_num_queries(3):
        assert len(list(due_for_disposal(now=NOW))) == 5


def _texts_containing(needles: list[str]) -> list[str]:
    """Every text (and JSON) column of every table, searched for each needle."""
    from django.apps import apps
    from django.db import models

    found = []
    text_fields = (models.CharField, models.TextField, models.JSONField)
    for model in apps.get_models(include_auto_created=True):
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, text_fields) and not f.primary_key
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for name, value in zip(fields, row, strict=True):
                text = str(value).lower()
                found += [
                    f"{model._meta.db_table}.{name}: {needle}"
                    for needle in needles
                    if needle.lower() in text
                ]
    return found


def test_after_gallring_no_table_holds_the_sole_traders_name_e_mail_or_phone(
    norrtalje, time_machine
):
    from cases.services.work import case_add_note, case_reply
    from meetings.services import meeting_book_for_case
    from tests.factories import coordinator

    lotsen = coordinator()
    # Faker may name the coordinator Svensson too; staff names are not the company's data.
    lotsen.first_name, lotsen.last_name = "Lotta", "Lotsdotter"
    lotsen.save(update_fields=["first_name", "last_name"])
    time_machine.move_to(timezone.make_aware(dt.datetime(2026, 11, 2, 9, 0)), tick=False)
    case, follower = case_create(
        inquiry=Inquiry(
            org_number=SOLE_TRADER,
            company_name="Anna Svensson Snickeri",
            contact_name="Anna Svensson",
            email="anna@hantverk.se",
            phone="070-123 45 67",
            subject="Bygglov för altan",
            description="Jag, Anna Svensson, vill bygga en altan. Ring 070-123 45 67.",
            area=ResponsibilityArea.objects.get(slug="bygglov"),
        )
    )
    case_company_message(follower_id=follower.pk, body="Nås på anna@hantverk.se.")
    case_add_note(
        case_id=case.pk,
        actor=lotsen,
        body="Pratade med Anna Svensson, nås på 0701234567 eller anna@hantverk.se.",
    )
    case_reply(case_id=case.pk, actor=lotsen, body="Hej Anna! Ni behöver bygglov.")
    start = timezone.make_aware(dt.datetime(2026, 11, 10, 10, 0))
    meeting = meeting_book_for_case(
        case_id=case.pk,
        actor=lotsen,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        department_ids=[case.owning_department_id],
        place="Kommunhuset",
        company_participants="Anna Svensson, 070-123 45 67",
    )
    needles = ["Anna Svensson", "Svensson", "anna@hantverk.se", "070-123 45 67", "0701234567"]
    assert _texts_containing(needles)  # the search finds them before
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_at=months_before(NOW, 37)
    )

    retention_sweep(now=NOW)

    assert _texts_containing(needles) == []
    case.refresh_from_db()
    # the municipality's own words stay, with the people taken out
    note = case.messages.get(kind=Message.Kind.INTERNAL).body
    assert note.startswith("Pratade med [gallrad]")
    assert case.subject == "Bygglov för altan"
    meeting.refresh_from_db()
    assert meeting.title.startswith("Lotsmöte: [gallrad]")
    assert case.events.filter(kind=CaseEvent.Kind.ANONYMISED).exists()
