"""What the company sees on the receipt and its private page, as it was found in a browser."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from cases.deadlines import add_working_days
from cases.models import Case, Company
from cases.services.company import case_company_message
from cases.services.work import case_claim, case_close, case_reply
from departments.models import ResponsibilityArea
from tests.factories import officer

pytestmark = pytest.mark.django_db

VALID = {
    "org_number": "556036-0793",
    "company_name": "Kafé Roslagsbris",
    "contact_name": "Maria Lind",
    "email": "maria@roslagsbris.se",
    "phone": "",
    "area": "",
    "subject": "Uteservering",
    "description": "Vi vill ställa ut två bord utanför kaféet i sommar.",
    "consent": "on",
    "website": "",
}


@pytest.fixture(autouse=True)
def _no_timing_check(settings):
    settings.FORM_MIN_FILL_SECONDS = 0


def ask(client, **changes):
    started = client.get(reverse("cases_public:ask")).context["form"].initial["form_started"]
    return client.post(
        reverse("cases_public:ask"), {**VALID, "form_started": started, **changes}, follow=True
    )


def test_the_typed_company_name_is_kept_on_the_case_and_shown_to_the_person(client, norrtalje):
    Company.objects.create(org_number="556036-0793", name="Roslagens Restaurang Holding AB")

    response = ask(client)

    html = response.content.decode()
    case = Case.objects.get()
    assert case.company_name_typed == "Kafé Roslagsbris"
    assert case.company.name == "Roslagens Restaurang Holding AB"  # registered name kept
    assert "Kafé Roslagsbris" in html
    assert "Roslagens Restaurang Holding" not in html

    # The officer sees the registered name and what the person wrote.
    client.force_login(officer(case.owning_department, "anna"))
    staff_html = client.get(reverse("staff:case_detail", args=[case.reference])).content.decode()
    assert "Roslagens Restaurang Holding AB" in staff_html
    assert "Skrev själv: Kafé Roslagsbris" in staff_html


def test_the_receipt_starts_with_saving_the_private_link(client, norrtalje):
    html = ask(client).content.decode()
    messages = html[html.index('class="messages"') :]
    first = messages[: messages.index("</div>")]
    assert "Spara länken till den här sidan" in first


def test_the_completion_date_covers_the_slowest_area_and_each_area_is_estimated(client, norrtalje):
    areas = ResponsibilityArea.objects.filter(slug__in=["bygglov", "serveringstillstand"])
    response = ask(
        client,
        area=areas.get(slug="serveringstillstand").pk,
        subject="Ny restaurang med uteservering och utbyggnad",
        description="Vi vill bygga ut restaurangen med ett uterum (bygglov) och servera vin "
        "och öl (serveringstillstånd).",
    )
    case = Case.objects.get()
    names = {area.slug for area in case.areas.all()}
    assert {"bygglov", "serveringstillstand"} <= names
    assert case.due_at == add_working_days(case.received_at, 50)
    html = response.content.decode()
    assert "Bygglov, skyltar och anmälan: omkring" in html
    assert "Serveringstillstånd (alkohol): omkring" in html


def test_hidden_field_errors_are_a_form_level_message_in_swedish(client, norrtalje):
    html = client.post(
        reverse("cases_public:ask"), {**VALID, "form_started": "forged"}
    ).content.decode()
    summary = html[html.index('id="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert "Formuläret kunde inte tas emot" in summary
    assert "Form started" not in html and "Form_started" not in html


def test_on_a_closed_case_the_final_answer_stands_first(client, norrtalje):
    ask(client)
    case = Case.objects.get()
    anna = officer(case.owning_department, "anna")
    case_claim(case_id=case.pk, actor=anna)
    case_reply(case_id=case.pk, actor=anna, body="Vi tittar på det.")
    case_close(case_id=case.pk, actor=anna, body="Ni behöver inget tillstånd för två bord.")
    token = case.followers.get().token

    html = client.get(reverse("cases_public:tracking", args=[token])).content.decode()

    assert html.index("Ni behöver inget tillstånd") < html.index("Händelser och meddelanden")


def test_a_new_deadline_reads_as_a_date_in_swedish(client, norrtalje):
    from cases.templatetags.case_tags import readable_date

    assert readable_date("2026-12-03") == "3 december 2026"
    assert readable_date(dt.date(2026, 12, 3)) == "3 december 2026"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("alcohol licence", "serveringstillstand"),
        ("building permit", "bygglov"),
        ("food", "livsmedel"),
    ],
)
def test_the_map_search_finds_areas_by_their_english_words(client, norrtalje, query, expected):
    from django.utils import translation

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("departments:map"), {"q": query})
    translation.deactivate()  # the request left English active in this thread
    slugs = [area.slug for area in response.context["areas"]]
    assert slugs[:1] == [expected], slugs
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert '<span class="small text-muted" lang="sv">' in html  # English name, Swedish after


def test_month_abbreviations_are_written_in_the_chosen_language():
    from django.utils import translation

    from cases.templatetags.case_tags import local_date

    with translation.override("sv"):
        assert local_date(dt.date(2026, 12, 2), "j M Y") == "2 dec 2026"
    with translation.override("en"):
        assert local_date(dt.date(2026, 12, 2), "j M Y") == "2 Dec 2026"
    moment = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)  # 10:30 in Stockholm
    with translation.override("sv"):
        assert local_date(moment, "j M H:i") == "2 dec 10:30"


def test_in_english_the_areas_are_named_in_english_on_the_form_and_the_case_page(client, norrtalje):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    form_html = client.get(reverse("cases_public:ask")).content.decode()
    assert "Alcohol licences (Serveringstillstånd (alkohol))" in form_html
    labels = sorted(
        (area.name_en for area in ResponsibilityArea.objects.active() if area.name_en),
        key=str.casefold,
    )
    positions = [form_html.index(f">{label} (") for label in labels]
    assert positions == sorted(positions)  # in the order of the English names

    serving = ResponsibilityArea.objects.get(slug="serveringstillstand")
    html = ask(
        client,
        area=serving.pk,
        subject="New restaurant with outdoor seating and an extension",
        description="Vi vill bygga ut restaurangen med ett uterum (bygglov) och servera vin "
        "och öl (serveringstillstånd).",
    ).content.decode()
    assert "Alcohol licences: around" in html
    assert "Serveringstillstånd (alkohol): around" not in html

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"
    swedish = client.get(reverse("cases_public:ask")).content.decode()
    assert ">Serveringstillstånd (alkohol)</option>" in swedish


def test_a_missing_consent_is_listed_by_its_message_not_by_the_whole_sentence(client, norrtalje):
    """The consent checkbox's label is a sentence of its own; in the error summary it read
    '… allmän handling. Läs om personuppgifter: Du behöver bekräfta …'."""
    html = ask(client, consent="").content.decode()
    summary = html[html.index('id="error-summary"') :]
    summary = summary[: summary.index("</ul>")]
    assert '<a href="#id_consent">Du behöver bekräfta att du har läst om personuppgifter.</a>' in (
        summary
    )
    assert "allmän handling" not in summary


# --- Found in the browser walk of 29 November ------------------------------------------------


@pytest.mark.parametrize("typed", ["abc", "070-123", "070 abc 45 67", "+46 70 12+3 45 67"])
def test_a_phone_number_that_is_not_one_is_refused_at_the_field_and_kept(client, norrtalje, typed):
    response = ask(client, phone=typed)

    html = response.content.decode()
    assert not Case.objects.exists()
    form = response.context["form"]
    assert form.errors["phone"] == [
        "Skriv telefonnumret med siffror, till exempel 070-123 45 67 eller +46 70 123 45 67."
    ]
    assert 'href="#id_phone"' in html  # in the summary, leading to the field
    assert form["phone"].value() == typed  # what the company typed stays in the field


@pytest.mark.parametrize(
    "typed", ["070-123 45 67", "0176-710 00", "(08) 123 456", "+46 70 123 45 67", " 0701234567 "]
)
def test_phone_numbers_as_people_write_them_are_accepted_as_typed(client, norrtalje, typed):
    ask(client, phone=typed)

    assert Case.objects.get().contact_phone == typed.strip()


def test_on_the_tracking_page_the_message_field_has_its_own_label(client, norrtalje):
    ask(client)
    token = Case.objects.get().followers.get().token

    response = client.get(reverse("cases_public:tracking", args=[token]))

    html = response.content.decode()
    assert '<h2 class="h4" id="write-heading">Skriv till handläggaren</h2>' in html
    label = re.search(r'<label\s+for="id_body"[^>]*>\s*([^<*]+?)\s*<', html)
    assert label and label.group(1) == "Ditt meddelande"


def test_a_company_message_appears_once_in_the_timeline(client, norrtalje):
    ask(client)
    case = Case.objects.get()
    follower = case.followers.get()
    case_company_message(follower_id=follower.pk, body="Vi har fått en ritning nu.")

    html = client.get(reverse("cases_public:tracking", args=[follower.token])).content.decode()

    timeline = html[html.index('<ol class="timeline">') : html.index("</ol>")]
    assert timeline.count("Vi har fått en ritning nu.") == 1
    assert "skrev till handläggaren" not in timeline
    assert timeline.count("<li") == 3  # received, routed, the message


def _autocomplete_of(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html).group(0)
    found = re.search(r'\bautocomplete="([^"]*)"', tag)
    return found.group(1) if found else None


def test_the_browser_may_fill_in_a_companys_own_details_but_not_an_officers(client, norrtalje):
    """WCAG 1.3.5: the public form says what each of the person's own fields is, so a browser
    can fill it in; an officer registering a caller's case must not get their own details."""
    from tests.factories import coordinator

    public = client.get(reverse("cases_public:ask")).content.decode()
    fields = ("company_name", "contact_name", "email", "phone")
    assert [_autocomplete_of(public, name) for name in fields] == [
        "organization",
        "name",
        "email",
        "tel",
    ]
    client.force_login(coordinator())
    staff = client.get(reverse("staff:register")).content.decode()
    assert [_autocomplete_of(staff, name) for name in fields] == ["off"] * 4
    client.logout()
    again = client.get(reverse("cases_public:ask")).content.decode()
    # the staff form changes its own copies of the widgets
    assert _autocomplete_of(again, "contact_name") == "name"
