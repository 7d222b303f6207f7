"""Take one e-mail (RFC 5322) from standard input: a company's reply, or a bounce.

For an MTA pipe, e.g. Postfix `svar: "|/srv/portal/.venv/bin/python /srv/portal/manage.py
receive_email"` (with recipient_delimiter = +), or by hand: `manage.py receive_email < mail.eml`.
Exit status 0 when the mail was taken care of (stored, or deliberately dropped), 67
(EX_NOUSER) when it was refused, so the MTA bounces it to the sender.
"""

import sys

from django.core.management.base import BaseCommand

from inbound.services import inbound_receive

EX_NOUSER = 67


class Command(BaseCommand):
    help = "Läser ett e-postmeddelande från standard in och lägger svaret i ärendet."

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient",
            default="",
            help="The envelope recipient, if the MTA passes it (e.g. Postfix ${recipient}).",
        )

    def handle(self, *args, recipient="", **options):
        raw = sys.stdin.buffer.read()
        outcome = inbound_receive(raw, recipient=recipient)
        self.stdout.write(f"{outcome.status} {outcome.detail}".strip())
        if not outcome.accepted:
            sys.exit(EX_NOUSER)
