"""Replies by e-mail land in the case (inbound/): one service for the MTA pipe and IMAP."""

import io
import sys
from email.message import EmailMessage

import pytest
from django.core.management import call_command

from cases.models import Case, CaseEvent, Message
from cases.services import work
from outbox.models import OutgoingEmail
from outbox.replies import reply_address
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = pytest.mark.django_db

QUOTED_REPLY = """Hej!

Ritningen är bifogad. Vi kan börja i maj.

Med vänliga hälsningar
Maria Lind
Lind Bygg AB

Den 28 nov. 2026 kl. 14:03 skrev Företagslotsen <foretagslotsen@norrtalje.se>:
> Hej, kan ni skicka en ritning över uteserveringen?
> Vänliga hälsningar, Anna
"""


@pytest.fixture
def case():
    unit = DepartmentFactory(slug="bygg", email="bygg@norrtalje.se")
    anna = officer(unit, "anna")
    anna.email = "anna@norrtalje.se"
    anna.save()
    return CaseFactory(owning_department=unit, owner=anna, status=Case.Status.IN_PROGRESS)


def mail_to(address, body=QUOTED_REPLY, **headers):
    message = EmailMessage()
    message["From"] = "Maria Lind <maria@lindbygg.se>"
    message["To"] = address
    message["Subject"] = "Re: Ärende FL-2026-00001"
    message["Message-ID"] = headers.pop("message_id", "<abc123@lindbygg.se>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def receive(message) -> str:
    """Pipe the message to `manage.py receive_email`, as an MTA would; its output."""
    out = io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(bytes(message)))
    try:
        call_command("receive_email", stdout=out)
    finally:
        sys.stdin = stdin
    return out.getvalue()


def test_reply_piped_to_receive_email_becomes_company_message_without_quote(case):
    follower = case.followers.get()

    receive(mail_to(reply_address(follower.pk)))

    message = Message.objects.get(case=case)
    assert message.kind == Message.Kind.FROM_COMPANY
    assert message.follower == follower
    assert message.body == "Hej!\n\nRitningen är bifogad. Vi kan börja i maj."
    assert "skrev" not in message.body and "Vänliga" not in message.body
    event = case.events.get(kind=CaseEvent.Kind.COMPANY_REPLIED)
    assert event.data["via"] == "email"
    # The officer is told, as for a message written on the tracking page.
    assert OutgoingEmail.objects.filter(kind="company_replied", to="anna@norrtalje.se").exists()


def test_timeline_on_case_page_says_the_reply_came_by_email(case, client):
    receive(mail_to(reply_address(case.followers.get().pk)))
    client.force_login(case.owner)

    page = client.get(f"/handlaggning/arenden/{case.reference}/").content.decode()

    assert "via e-post" in page
    assert "Ritningen är bifogad" in page


def test_the_same_mail_delivered_twice_is_stored_once(case):
    message = mail_to(reply_address(case.followers.get().pk))
    receive(message)
    assert "duplicate" in receive(message)
    assert Message.objects.filter(case=case).count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
    ],
)
def test_auto_reply_stores_nothing(case, headers):
    before = CaseEvent.objects.count()
    out = receive(mail_to(reply_address(case.followers.get().pk), "Jag är på semester.", **headers))

    assert out.startswith("auto_reply")
    assert not Message.objects.exists()
    assert CaseEvent.objects.count() == before
    assert not OutgoingEmail.objects.filter(kind="company_replied").exists()


def test_out_of_office_by_subject_stores_nothing(case):
    message = mail_to(reply_address(case.followers.get().pk), "Tillbaka måndag.")
    del message["Subject"]
    message["Subject"] = "Automatiskt svar: Ärende FL-2026-00001"
    receive(message)
    assert not Message.objects.exists()


def test_forged_reply_address_is_refused_logged_and_stores_nothing(case, caplog):
    follower = case.followers.get()
    genuine = reply_address(follower.pk)
    forged = genuine.replace(genuine.split(".")[1][:4], "0000")  # signature tampered with
    assert forged != genuine

    with pytest.raises(SystemExit) as exit_info:
        receive(mail_to(forged))

    assert exit_info.value.code == 67
    assert not Message.objects.exists()
    assert "refused" in caplog.text and "forged" in caplog.text


def test_reply_address_of_another_follower_number_is_refused(case):
    follower = case.followers.get()
    other = reply_address(follower.pk).replace(f"+{follower.pk:x}.", f"+{follower.pk + 1:x}.")
    with pytest.raises(SystemExit):
        receive(mail_to(other))
    assert not Message.objects.exists()


def test_unknown_address_is_refused(case):
    with pytest.raises(SystemExit):
        receive(mail_to("info@norrtalje.se"))
    assert not Message.objects.exists()


def dsn_for(address: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.se\r\n"
        "To: foretagslotsen@norrtalje.se\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.se\r\n\r\n"
        "Final-Recipient: rfc822; maria@lindbygg.se\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: foretagslotsen@norrtalje.se\r\nTo: maria@lindbygg.se\r\nReply-To: {address}\r\n"
        "Subject: Svar i ärende\r\n"
        "--B--\r\n"
    ).encode()


def test_bounce_marks_address_undeliverable_and_stores_no_message(case, client):
    follower = case.followers.get()
    out = io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(dsn_for(reply_address(follower.pk))))
    try:
        call_command("receive_email", stdout=out)
    finally:
        sys.stdin = stdin

    follower.refresh_from_db()
    assert follower.undeliverable_at is not None
    assert "5.1.1" in follower.undeliverable_reason
    assert not Message.objects.exists()
    client.force_login(case.owner)
    page = client.get(f"/handlaggning/arenden/{case.reference}/").content.decode()
    assert "kom inte fram" in page


def test_reply_to_closed_case_reopens_it(case):
    work.case_close(case_id=case.pk, actor=case.owner, body="Klart.")

    receive(mail_to(reply_address(case.followers.get().pk)))

    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert case.events.filter(kind=CaseEvent.Kind.REOPENED, data__via="email").exists()
    assert case.messages.filter(kind=Message.Kind.FROM_COMPANY).count() == 1


def test_reply_to_closed_case_can_start_linked_new_case(case, settings, norrtalje):
    settings.INBOUND_CLOSED_CASE_ACTION = "new_case"
    work.case_close(case_id=case.pk, actor=case.owner, body="Klart.")

    receive(mail_to(reply_address(case.followers.get().pk)))

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    new_case = Case.objects.exclude(pk=case.pk).get()
    assert new_case.channel == Case.Channel.EMAIL
    assert case.reference in new_case.subject
    link = case.events.get(kind=CaseEvent.Kind.COMPANY_REPLIED).data
    assert link["new_case"] == new_case.reference
    assert new_case.reference in case.messages.get(kind=Message.Kind.INTERNAL).body
    assert "Ritningen är bifogad" in new_case.description


def test_attachment_in_reply_is_kept_like_an_uploaded_one(case):
    message = mail_to(reply_address(case.followers.get().pk))
    message.add_attachment(
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        maintype="application",
        subtype="pdf",
        filename="ritning.pdf",
    )
    message.add_attachment(
        b"MZ\x90\x00program", maintype="application", subtype="pdf", filename="inte-en.pdf"
    )

    receive(message)

    stored = Message.objects.get(case=case)
    assert [a.filename for a in stored.attachments.all()] == ["ritning.pdf"]
    assert "togs inte emot" in stored.body


def test_mail_to_company_carries_reply_address_and_threading_headers(case):
    from django.core import mail

    follower = case.followers.get()
    with_commit = work.case_reply(case_id=case.pk, actor=case.owner, body="Hej!")
    assert with_commit
    email = OutgoingEmail.objects.get(kind="reply", to=follower.email)
    from outbox.services import email_send

    email_send(email_id=email.pk)
    sent = mail.outbox[-1]
    assert sent.reply_to == [reply_address(follower.pk)]
    assert "@" in sent.extra_headers["Message-ID"]
    assert sent.extra_headers["In-Reply-To"] == f"<{case.reference}@norrtalje.se>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    # The address identifies the follower without the private link.
    assert follower.token not in reply_address(follower.pk)
    assert reply_address(follower.pk).startswith("svar+")


@pytest.mark.parametrize(
    "text",
    [
        "Tack, det går bra.\n\n-----Ursprungligt meddelande-----\nFrån: Företagslotsen\n"
        "Skickat: den 28 november 2026 14:03\nTill: Maria\nÄmne: Ärende\n\nGammal text",
        "Tack, det går bra.\n\nDen fre 28 nov. 2026 kl. 14:03 skrev Företagslotsen <\n"
        "foretagslotsen@norrtalje.se>:\n\n> Gammal text",
        "Tack, det går bra.\n\nOn Fri, 28 Nov 2026 at 14:03, Företagslotsen "
        "<foretagslotsen@norrtalje.se> wrote:\n> Gammal text",
        "Tack, det går bra.\n\nMvh\nMaria",
    ],
)
def test_quoted_history_and_signature_are_stripped(text):
    from inbound.parsing import reply_text

    assert reply_text(text) == "Tack, det går bra."


def test_html_only_reply_is_read_as_text(case):
    message = mail_to(reply_address(case.followers.get().pk))
    message.set_content("<p>Hej!</p><p>Ritningen kommer i morgon.</p>", subtype="html")

    receive(message)

    body = Message.objects.get(case=case).body
    assert "Ritningen kommer i morgon." in body and "<p>" not in body


class FakeImap:
    """An IMAP mailbox holding the given mails (enough of imaplib's interface)."""

    mails: dict = {}
    deleted: list = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def login(self, user, password):
        assert (user, password) == ("svar@norrtalje.se", "hemligt lösen")

    def select(self, mailbox):
        assert mailbox == "INBOX"

    def uid(self, command, *args):
        if command == "search":
            return "OK", [b" ".join(FakeImap.mails)]
        if command == "fetch":
            return "OK", [(b"1 (RFC822 {n}", FakeImap.mails[args[0]]), b")"]
        if command == "store":
            FakeImap.deleted.append(args[0])
            return "OK", []
        raise AssertionError(command)

    def expunge(self):
        pass

    def logout(self):
        pass


def test_imap_poll_goes_through_the_same_service(case, settings, monkeypatch):
    from inbound.tasks import imap_poll_task

    settings.INBOUND_IMAP_URL = (
        "imaps://svar%40norrtalje.se:hemligt%20l%C3%B6sen@imap.example.se/INBOX"
    )
    follower = case.followers.get()
    FakeImap.mails = {
        b"1": bytes(mail_to(reply_address(follower.pk))),
        b"2": bytes(mail_to(reply_address(follower.pk), "Borta.", Auto_Submitted="auto-replied")),
    }
    FakeImap.deleted = []
    monkeypatch.setattr("imaplib.IMAP4_SSL", FakeImap)

    assert imap_poll_task() == 2

    assert Message.objects.get(case=case).body.startswith("Hej!")
    assert FakeImap.deleted == [b"1", b"2"]


def test_imap_poll_is_off_by_default(settings):
    from inbound.tasks import imap_poll_task

    assert settings.INBOUND_IMAP_URL == ""
    assert imap_poll_task() == 0
