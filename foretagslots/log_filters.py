"""Logging filter: tracking and feedback tokens never reach the logs.

Django's request, CSRF and error loggers print the request path, and a company's tracking
path (/arende/<token>/) is the key to its case. The filter replaces every long token-like
path segment in a record's message and arguments with "[dolt]".
"""

import logging
import re

# Tokens are 20-64 URL-safe characters (cases.urls.public.TokenConverter); ordinary path
# segments of the portal are short words, slugs and case references.
_TOKEN = re.compile(r"(?<=/)[A-Za-z0-9_\-]{20,}(?=[/?#\s\"']|$)")
REDACTED = "[dolt]"


def redact(text: str) -> str:
    return _TOKEN.sub(REDACTED, text)


class RedactTokensFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: leave it to the handler
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


# Tasks named *_relay_task run every second or so (beat's "…-relay" entries): the outbox relay
# sends the mails that changes queued.
_RELAY_TASK = re.compile(r"[\w.]+_relay_task\b")


class QuietRelaysFilter(logging.Filter):
    """Drop Celery's routine INFO lines about the relay tasks.

    Celery logs every task three times at INFO (beat sends it, the worker receives it, it
    succeeded): for a relay that runs every second that is ~260 000 lines a day that say
    nothing. Its warnings and errors (a failed or retried relay) still pass, and so does
    what the relay logs itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record: leave it to the handler
            return True
        return not _RELAY_TASK.search(message)
