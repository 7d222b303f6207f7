"""A company's question becomes a case: the public form and the intake service."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from cases.models import Case, CaseDepartment, CaseEvent, CaseFollower, Company
from departments.models import ResponsibilityArea
from outbox.models import OutgoingEmail
from tests.factories import officer, submit_question

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_form_timing")]


def nothing_saved():
    return (
        not Case.objects.exists()
        and not Company.objects.exists()
        and not mail.outbox
        and not OutgoingEmail.objects.exists()
    )


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"org_number": "556036-0794"}, "org_number", "kontrollsiffran"),
        ({"org_number": "55603607"}, "org_number", "tio siffror"),
        ({"consent": ""}, "consent", "bekräfta"),
        ({"description": "x" * 10_001}, "description", "högst 10000 tecken"),
        ({"subject": "y" * 201}, "subject", "högst 200 tecken"),
        ({"email": "maria.at.kafe"}, "email", "giltig e-postadress"),
        ({"company_name": ""}, "company_name", "företagets namn"),
        ({"website": "http://spam.example"}, "__all__", "kunde inte tas emot"),
    ],
)
def test_invalid_submission_saves_nothing_and_shows_the_message_at_the_field(
    client, norrtalje, changes, field, message
):
    response = submit_question(client, **changes)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors.replace("\u00a0", "").lower() or message in errors
    assert nothing_saved()
    # what the company typed stays in the form
    html = response.content.decode()
    assert "Roslagens Kafé AB" in html or field == "company_name"


@pytest.mark.parametrize(
    "typed", ["556036-0793", "5560360793", "16556036-0793", "556036 0793", "00556036-0793"]
)
def test_org_number_is_normalised(client, norrtalje, typed):
    submit_question(client, org_number=typed)
    assert Company.objects.get().org_number == "556036-0793"


def test_org_number_with_century_is_accepted(client, norrtalje):
    submit_question(client, org_number="19811218-9876")
    assert Company.objects.get().org_number == "811218-9876"


def test_valid_submission_creates_one_case_routed_with_receipt(
    client, norrtalje, django_capture_on_commit_callbacks
):
    bygg = ResponsibilityArea.objects.get(slug="serveringstillstand").owner
    helhetsansvarig = officer(bygg, username="srmh.handlaggare")

    with django_capture_on_commit_callbacks(execute=True):
        response = submit_question(client)

    case = Case.objects.get()
    follower = CaseFollower.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == reverse("cases_public:tracking", args=[follower.token])
    assert Company.objects.count() == 1
    assert re.fullmatch(r"FL-\d{4}-\d{5}", case.reference)
    assert case.status == "received" and case.channel == "web"
    assert case.owning_department == bygg and case.owner == helhetsansvarig
    assert case.first_answer_due and case.due_at and case.due_at >= case.first_answer_due
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[:2] == [CaseEvent.Kind.CREATED, CaseEvent.Kind.ROUTED]
    assert CaseDepartment.objects.filter(case=case, role="owner", department=bygg).exists()
    assert len(follower.token) >= 22  # ≥ 128 bits
    assert case.reference not in follower.token

    receipts = [m for m in mail.outbox if m.to == ["maria@roslagenskafe.se"]]
    assert len(receipts) == 1
    assert case.reference in receipts[0].subject
    link = re.search(r"http\S+/arende/\S+/", receipts[0].body).group(0)
    page = client.get(link.split("8000", 1)[-1] if "8000" in link else link)
    assert page.status_code == 200
    assert case.reference in page.content.decode()


def test_multi_unit_question_adds_the_other_units_as_contributors(client, norrtalje):
    submit_question(
        client,
        subject="Festival med ölservering och scen i parken",
        description="Vi planerar en festival i parken med scen, foodtrucks och "
        "ölservering. Vi behöver tillstånd för alkohol och plats i parken.",
    )
    case = Case.objects.get()
    parts = CaseDepartment.objects.filter(case=case)
    assert parts.filter(role="owner").count() == 1
    assert parts.filter(role="contributor").count() >= 1


def test_receipt_is_sent_only_after_commit(norrtalje, django_capture_on_commit_callbacks):
    from cases.services.intake import Inquiry, case_create

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case_create(
            inquiry=Inquiry(
                company_name="Bolaget",
                contact_name="Ann",
                email="a@b.se",
                subject="Bygglov för skylt",
                description="Skylt på fasaden",
            )
        )
    assert not mail.outbox
    assert callbacks
    for callback in callbacks:
        callback()
    assert any(m.to == ["a@b.se"] for m in mail.outbox)


def test_tracking_page_with_wrong_token_is_404_and_reveals_nothing(client, norrtalje):
    submit_question(client)
    stranger = Client()
    response = stranger.get(reverse("cases_public:tracking", args=["x" * 43]))
    assert response.status_code == 404
    assert "FL-" not in response.content.decode()


def test_tracking_page_shows_what_the_company_needs(client, norrtalje):
    submit_question(client)
    case = Case.objects.get()
    token = case.followers.get().token
    html = client.get(reverse("cases_public:tracking", args=[token])).content.decode()
    assert case.reference in html
    assert "Inkommen" in html
    assert case.owning_department.name in html
    assert "Första svar senast" in html


def test_company_can_write_to_its_case(client, norrtalje):
    submit_question(client)
    case = Case.objects.get()
    token = case.followers.get().token
    url = reverse("cases_public:tracking_message", args=[token])
    assert client.post(url, {"body": ""}).status_code == 200
    assert not case.messages.exists()
    response = client.post(url, {"body": "Vi har fler frågor."})
    assert response.status_code == 302
    assert case.messages.get().body == "Vi har fler frågor."


def test_colleague_gets_an_own_tracking_link(client, norrtalje, django_capture_on_commit_callbacks):
    submit_question(client)
    case = Case.objects.get()
    token = case.followers.get().token
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("cases_public:tracking_follower", args=[token]),
            {"name": "Per Lind", "email": "per@roslagenskafe.se"},
        )
    colleague = case.followers.get(email="per@roslagenskafe.se")
    assert colleague.token != token
    assert any(colleague.token in m.body for m in mail.outbox)


def test_staff_registered_phone_inquiry_records_the_channel(norrtalje):
    from cases.services.intake import Inquiry, case_create

    case, _ = case_create(
        inquiry=Inquiry(
            company_name="Bolaget",
            contact_name="Ann",
            email="a@b.se",
            subject="Schakt i gatan",
            description="Vi ska gräva för fiber i gatan",
            channel="phone",
        )
    )
    assert case.channel == "phone"
    assert case.events.get(kind="created").data["channel"] == "phone"


def test_low_confidence_goes_to_the_triage_unit(norrtalje):
    from cases.services.intake import Inquiry, case_create

    case, _ = case_create(
        inquiry=Inquiry(
            company_name="Bolaget",
            contact_name="Ann",
            email="a@b.se",
            subject="Hej",
            description="Hej, jag undrar en sak.",
        )
    )
    assert case.owning_department.slug == "naringslivsenheten"
    assert case.needs_triage
    assert case.owner is None


def test_the_follower_intake_returns_is_saved_with_its_id(norrtalje):
    """On PostgreSQL the rows are written in one chained statement: every row still gets its
    id back, so a caller can act for the follower at once."""
    from cases.services.company import case_company_message
    from cases.services.intake import Inquiry, case_create

    fields = {"company_name": "Bolaget", "contact_name": "Ann", "email": "a@b.se"}
    case, follower = case_create(
        inquiry=Inquiry(**fields, subject="Fiber", description="Vi ska gräva för fiber i gatan")
    )
    assert follower.pk == CaseFollower.objects.get(case=case).pk
    case_company_message(follower_id=follower.pk, body="Vi börjar på måndag.")
    assert case.messages.filter(body="Vi börjar på måndag.").exists()


def test_the_case_and_its_rows_read_back_as_they_were_made(norrtalje):
    """On PostgreSQL the case and its rows go in as JSON (cases.bulk): every kind of value
    (times to the microsecond, dates, numbers, flags, the events' data) reads back equal."""
    from cases.services.intake import Inquiry, case_create

    srmh = officer(ResponsibilityArea.objects.get(slug="serveringstillstand").owner)
    case, follower = case_create(
        inquiry=Inquiry(
            org_number="556036-0793",
            company_name="Roslagens Kafé AB",
            contact_name="Maria Lind",
            email="maria@roslagenskafe.se",
            phone="+46 176 123 45",
            subject="Serveringstillstånd för vår restaurang",
            description="Vi vill börja servera vin och öl till maten inne i restaurangen.",
        )
    )
    made = [case, follower, *case.events.all()]
    stored = Case.objects.get(pk=case.pk)
    for field in Case._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(case, field.attname), field.name
    assert stored.owner == srmh and stored.received_at.microsecond == case.received_at.microsecond
    assert case.events.get(kind=CaseEvent.Kind.ASSIGNED).data["owner"]
    assert CaseFollower.objects.get(pk=follower.pk).token == follower.token
    created = case.events.get(kind=CaseEvent.Kind.CREATED)
    assert created.data == {"channel": "web", "reference": case.reference}
    routed = case.events.get(kind=CaseEvent.Kind.ROUTED).data
    assert routed["areas"] and isinstance(routed["confidence"], float)
    assert all(obj.pk for obj in made)


def test_questions_without_an_org_number_get_a_company_each_and_with_one_share_it(norrtalje):
    from cases.services.intake import Inquiry, case_create

    def ask(org_number, name):
        return case_create(
            inquiry=Inquiry(
                org_number=org_number,
                company_name=name,
                contact_name="Ann",
                email="a@b.se",
                subject="Fiber",
                description="Vi ska gräva för fiber i gatan",
            )
        )[0]

    first, second = ask("", "Nystartat"), ask("", "Nystartat")
    assert first.company_id != second.company_id and first.company.org_number is None
    third, fourth = ask("556036-0793", "Kafé AB"), ask("556036-0793", "Annat namn")
    assert third.company_id == fourth.company_id
    assert Company.objects.get(pk=fourth.company_id).name == "Kafé AB"
    assert fourth.company.name == "Kafé AB"
    references = [case.reference for case in (first, second, third, fourth)]
    numbers = [int(reference.rsplit("-", 1)[1]) for reference in references]
    assert numbers == list(range(numbers[0], numbers[0] + 4))


def test_a_question_asked_in_english_is_explained_to_staff_in_swedish(norrtalje):
    """The routing explanation is saved on the case, which officers read in Swedish: a company
    browsing in English must not leave an English explanation on the record."""
    english = Client(HTTP_ACCEPT_LANGUAGE="en")

    submit_question(
        english,
        subject="Uteservering vid vårt kafé",
        description="Vi vill ha uteservering på trottoaren utanför kaféet från maj.",
    )

    explanation = Case.objects.get().routing_explanation
    assert "Frågan nämner" in explanation
    assert "The question mentions" not in explanation
