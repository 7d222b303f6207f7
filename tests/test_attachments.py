"""Documents travel with messages: checked from their content, stored outside the public
URLs, downloaded only by those who may see the case."""

import datetime as dt
import io

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases.models import Attachment, Case, CaseEvent, Message
from cases.services import work
from cases.services.attachments import prepare_file
from cases.services.company import case_company_message
from records.retention import months_before, retention_sweep
from records.services import case_export_data
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def case():
    unit = DepartmentFactory(slug="bygg", email="bygg@norrtalje.se")
    return CaseFactory(
        owning_department=unit, owner=officer(unit, "anna"), status=Case.Status.IN_PROGRESS
    )


def tracking_post(client, follower, *files, body="Här är ritningen."):
    return client.post(
        reverse("cases_public:tracking_message", args=[follower.token]),
        {"body": body, "attachments": list(files)},
    )


def test_company_attaches_pdf_and_officer_downloads_it_as_attachment(client, case):
    follower = case.followers.get()

    response = tracking_post(client, follower, SimpleUploadedFile("ritning.pdf", PDF))

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.message.kind == Message.Kind.FROM_COMPANY
    assert (attachment.filename, attachment.content_type) == ("ritning.pdf", "application/pdf")
    client.force_login(case.owner)
    download = client.get(reverse("staff:attachment", args=[case.reference, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    # The download is in the case's audit log.
    assert case.events.filter(
        kind=CaseEvent.Kind.VIEWED, actor=case.owner, data__attachment_id=attachment.pk
    ).exists()


def test_file_is_stored_outside_static_and_media_urls(client, case):
    tracking_post(client, case.followers.get(), SimpleUploadedFile("a.pdf", PDF))
    attachment = Attachment.objects.get()
    assert storages["attachments"].exists(attachment.storage_name)
    assert attachment.filename not in attachment.storage_name


def test_file_of_disallowed_type_is_refused_with_swedish_message_at_the_field(client, case):
    program = SimpleUploadedFile("ritning.pdf", b"MZ\x90\x00\x03\x00\x00\x00program")

    response = tracking_post(client, case.followers.get(), program)

    assert response.status_code == 200
    errors = response.context["message_form"].errors
    assert "inte av en tillåten typ" in errors["attachments"][0]
    assert not Message.objects.exists() and not Attachment.objects.exists()


def test_too_large_file_is_refused_at_the_field(client, case, settings):
    settings.ATTACHMENT_MAX_BYTES = 20
    response = tracking_post(client, case.followers.get(), SimpleUploadedFile("a.pdf", PDF))
    assert "för stor" in response.context["message_form"].errors["attachments"][0]
    assert not Attachment.objects.exists()


def test_too_many_files_are_refused(client, case, settings):
    settings.ATTACHMENT_MAX_FILES = 1
    files = [SimpleUploadedFile(f"{n}.pdf", PDF) for n in range(2)]
    response = tracking_post(client, case.followers.get(), *files)
    assert "högst 1 filer" in response.context["message_form"].errors["attachments"][0]


def test_another_units_officer_gets_404_on_a_file_outside_their_reach(client, case):
    tracking_post(client, case.followers.get(), SimpleUploadedFile("a.pdf", PDF))
    attachment = Attachment.objects.get()
    stranger = officer(DepartmentFactory(slug="miljo"), "mia")
    client.force_login(stranger)

    response = client.get(reverse("staff:attachment", args=[case.reference, attachment.pk]))

    assert response.status_code == 404


def test_file_of_one_case_cannot_be_fetched_through_another(client, case):
    tracking_post(client, case.followers.get(), SimpleUploadedFile("a.pdf", PDF))
    attachment = Attachment.objects.get()
    other = CaseFactory(owning_department=case.owning_department)
    client.force_login(case.owner)
    assert (
        client.get(reverse("staff:attachment", args=[other.reference, attachment.pk])).status_code
        == 404
    )
    token = other.followers.get().token
    assert (
        client.get(reverse("cases_public:attachment", args=[token, attachment.pk])).status_code
        == 404
    )


def test_company_downloads_officers_attachment_but_never_an_internal_one(client, case):
    work.case_reply(
        case_id=case.pk, actor=case.owner, body="Se beslutet.", files=[prepare_file("b.pdf", PDF)]
    )
    work.case_add_note(
        case_id=case.pk, actor=case.owner, body="Internt.", files=[prepare_file("i.pdf", PDF)]
    )
    reply_file = Attachment.objects.get(filename="b.pdf")
    internal_file = Attachment.objects.get(filename="i.pdf")
    token = case.followers.get().token

    page = client.get(reverse("cases_public:tracking", args=[token])).content.decode()
    public = client.get(reverse("cases_public:attachment", args=[token, reply_file.pk]))
    internal = client.get(reverse("cases_public:attachment", args=[token, internal_file.pk]))

    assert "b.pdf" in page and "i.pdf" not in page
    assert public.status_code == 200 and public["X-Content-Type-Options"] == "nosniff"
    assert internal.status_code == 404


def test_officer_attaches_file_to_reply_from_case_page(client, case):
    client.force_login(case.owner)
    response = client.post(
        reverse("staff:case_reply", args=[case.reference]),
        {"body": "Här är beslutet.", "attachments": [SimpleUploadedFile("beslut.pdf", PDF)]},
    )
    assert response.status_code == 302
    assert Attachment.objects.get().message.kind == Message.Kind.TO_COMPANY


def test_image_loses_its_exif_location():
    from PIL import Image

    image = Image.new("RGB", (8, 8), "red")
    exif = Image.Exif()
    exif[0x010F] = "Kamera AB"  # Make
    exif[0x8825] = {1: "N", 2: (59.0, 45.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    assert 0x8825 in Image.open(io.BytesIO(out.getvalue())).getexif()

    cleaned = prepare_file("foto.jpg", out.getvalue())

    kept = Image.open(io.BytesIO(cleaned.content)).getexif()
    assert 0x8825 not in kept
    assert kept[0x010F] == "Kamera AB"
    assert cleaned.content_type == "image/jpeg"


def test_with_virus_scan_file_is_quarantined_and_company_sees_granskas(
    client, case, settings, monkeypatch
):
    settings.CLAMAV_URL = "tcp://clamav:3310"
    follower = case.followers.get()

    tracking_post(client, follower, SimpleUploadedFile("a.pdf", PDF))

    attachment = Attachment.objects.get()
    assert attachment.scan_status == Attachment.Scan.PENDING
    page = client.get(reverse("cases_public:tracking", args=[follower.token])).content.decode()
    assert "granskas" in page
    url = reverse("cases_public:attachment", args=[follower.token, attachment.pk])
    assert client.get(url).status_code == 404

    monkeypatch.setattr("cases.services.attachments.clamd_scan", lambda content, url: None)
    from cases.services.attachments import attachment_scan

    assert attachment_scan(attachment_id=attachment.pk) == Attachment.Scan.CLEAN
    assert client.get(url).status_code == 200


def test_the_workers_relay_scans_a_new_file_once_and_waits_while_clamd_is_down(
    client, case, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """As in production: the upload only stores the file, quarantined; the worker's relay
    (every second) scans it. With clamd unreachable the file stays "granskas" and clamd is
    not asked again for a minute; then the file is scanned once and released."""
    from cases.services import attachments

    settings.CLAMAV_URL = "tcp://127.0.0.1:9"
    settings.OUTBOX_SEND_ON_COMMIT = False
    monkeypatch.setattr(attachments, "_retry_after", {})
    clock = [1000.0]
    monkeypatch.setattr(attachments.time, "monotonic", lambda: clock[0])
    follower = case.followers.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert tracking_post(client, follower, SimpleUploadedFile("a.pdf", PDF)).status_code == 302
    attachment = Attachment.objects.get()
    url = reverse("cases_public:attachment", args=[follower.token, attachment.pk])

    calls = []

    def clamd_down(content, url):
        calls.append(url)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(attachments, "clamd_scan", clamd_down)
    assert attachments.attachment_scan_relay() == 0
    clock[0] += attachments.SCAN_RETRY_SECONDS - 1
    assert attachments.attachment_scan_relay() == 0
    assert len(calls) == 1
    attachment.refresh_from_db()
    assert attachment.scan_status == Attachment.Scan.PENDING
    assert client.get(url).status_code == 404

    monkeypatch.setattr(attachments, "clamd_scan", lambda content, url: calls.append(url))
    clock[0] += 1
    assert attachments.attachment_scan_relay() == 1
    assert attachments.attachment_scan_relay() == 0
    assert len(calls) == 2
    assert client.get(url).status_code == 200


def test_a_file_clamd_refuses_does_not_hold_up_the_others(case, settings, monkeypatch):
    from cases.services import attachments

    settings.CLAMAV_URL = "tcp://clamav:3310"
    settings.OUTBOX_SEND_ON_COMMIT = False
    monkeypatch.setattr(attachments, "_retry_after", {})
    files = [prepare_file("a.pdf", PDF), prepare_file("b.pdf", PDF + b" ")]
    case_company_message(follower_id=case.followers.get().pk, body="Bilagor", files=files)
    first, second = Attachment.objects.order_by("pk")

    def scan(content, url):
        if content == PDF:
            raise OSError("clamd: INSTREAM size limit exceeded. ERROR")

    monkeypatch.setattr(attachments, "clamd_scan", scan)
    assert attachments.attachment_scan_relay() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.scan_status, second.scan_status) == ("pending", "clean")


def test_infected_file_is_deleted(case, settings, monkeypatch):
    settings.CLAMAV_URL = "tcp://clamav:3310"
    monkeypatch.setattr("cases.services.attachments.clamd_scan", lambda c, u: "Eicar-Test")
    from cases.services.attachments import attachment_scan

    case_company_message(
        follower_id=case.followers.get().pk, body="Se bilaga", files=[prepare_file("a.pdf", PDF)]
    )
    attachment = Attachment.objects.get()
    assert attachment_scan(attachment_id=attachment.pk) == Attachment.Scan.INFECTED
    assert not storages["attachments"].exists(attachment.storage_name)


def test_gallring_removes_an_old_cases_files_and_records_it(case):
    case_company_message(
        follower_id=case.followers.get().pk, body="Ritning", files=[prepare_file("r.pdf", PDF)]
    )
    attachment = Attachment.objects.get()
    stored_as = attachment.storage_name
    assert storages["attachments"].exists(stored_as)
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_at=months_before(now, 37)
    )

    retention_sweep(now=now + dt.timedelta(minutes=1))

    attachment.refresh_from_db()
    assert attachment.removed_at is not None
    assert not storages["attachments"].exists(stored_as)
    protocol = case.events.get(kind=CaseEvent.Kind.ANONYMISED).data["done"]
    assert any("bifogade filer" in line for line in protocol)


def test_export_lists_attachments_and_masks_a_secret_ones_name(case):
    message = case_company_message(
        follower_id=case.followers.get().pk, body="Ritning", files=[prepare_file("r.pdf", PDF)]
    )
    document, _masked = case_export_data(case)
    assert document["meddelanden"][0]["bilagor"][0]["filnamn"] == "r.pdf"

    Message.objects.filter(pk=message.pk).update(is_confidential=True)
    document, masked = case_export_data(case)
    assert document["meddelanden"][0]["bilagor"][0]["filnamn"] != "r.pdf"
    assert masked == 2


def test_company_attaches_a_file_to_its_question_on_the_public_form(client, norrtalje, settings):
    from tests.factories import question_form_data as form_data

    settings.FORM_MIN_FILL_SECONDS = 0
    data = form_data(client, attachments=[SimpleUploadedFile("situationsplan.pdf", PDF)])

    response = client.post(reverse("cases_public:ask"), data)

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.message is None and attachment.from_company
    page = client.get(response["Location"]).content.decode()
    assert "situationsplan.pdf" in page
    document, _masked = case_export_data(attachment.case)
    assert document["arende"]["bilagor"][0]["filnamn"] == "situationsplan.pdf"


def test_public_form_refuses_a_disallowed_file_and_saves_nothing(client, norrtalje, settings):
    from tests.factories import question_form_data as form_data

    settings.FORM_MIN_FILL_SECONDS = 0
    data = form_data(client, attachments=[SimpleUploadedFile("plan.pdf", b"<html>hej</html>")])

    response = client.post(reverse("cases_public:ask"), data)

    assert "inte av en tillåten typ" in response.context["form"].errors["attachments"][0]
    assert not Case.objects.exists() and not Attachment.objects.exists()


def test_files_chosen_on_a_form_sent_back_for_correction_are_asked_for_again(
    client, norrtalje, settings
):
    """A browser cannot keep chosen files when the page comes back with an error: the field
    names the files to choose again, so that the question is not sent without them."""
    from tests.factories import question_form_data as form_data

    settings.FORM_MIN_FILL_SECONDS = 0
    data = form_data(
        client, subject="", attachments=[SimpleUploadedFile("situationsplan.pdf", PDF)]
    )

    response = client.post(reverse("cases_public:ask"), data)

    assert response.status_code == 200 and not Case.objects.exists()
    (message,) = response.context["form"].errors["attachments"]
    assert "situationsplan.pdf" in message and "igen" in message


def test_a_refused_file_is_not_asked_for_again_but_the_accepted_one_is(client, case):
    program = SimpleUploadedFile("program.pdf", b"MZ\x90\x00\x03\x00\x00\x00program")
    response = tracking_post(
        client, case.followers.get(), SimpleUploadedFile("ritning.pdf", PDF), program
    )

    errors = " ".join(response.context["message_form"].errors["attachments"])
    assert "program.pdf" in errors and "ritning.pdf" in errors
    assert "Välj filen ritning.pdf igen" in errors and "program.pdf igen" not in errors


def test_secrecy_marking_of_a_message_covers_its_attachment(client, case):
    from records.services import message_mark_confidential

    message = work.case_reply(
        case_id=case.pk, actor=case.owner, body="Beslut.", files=[prepare_file("b.pdf", PDF)]
    )
    attachment = Attachment.objects.get()
    url = reverse("cases_public:attachment", args=[case.followers.get().token, attachment.pk])
    assert client.get(url).status_code == 200

    message_mark_confidential(
        message_id=message.pk, actor=case.owner, confidential=True, reason="OSL 21 kap. 1 §"
    )

    assert client.get(url).status_code == 404
    document, masked = case_export_data(case)
    assert document["meddelanden"][0]["bilagor"][0]["sekretessmarkerad"] is True
