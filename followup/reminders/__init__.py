"""The reminder sweep: deadlines chased by the portal itself.

`reminder_sweep(now=None)` is run by Celery beat (`followup.tasks.reminder_sweep_task`, every 15
minutes) and by `python manage.py sweep_reminders`. On a working day it

- reminds the helhetsansvarig one working day before the first-answer and the resolution
  deadline, and the contributing officer (or the unit's mailbox while nobody has taken the
  request) before a contribution is due;
- tells the owner when a contribution is late, or will come in after the case's own deadline,
  before the case itself goes overdue;
- on an overdue case notifies the owner, after REMINDER_ESCALATE_AFTER_DAYS more working days
  the unit lead, after as many again the lots coordinator(s) (users with the permission
  `cases.manage_all_cases`); an unowned case older than one working day goes to the unit lead
  at once;
- reminds the company (its followers) when the case has waited for its answer for
  COMPANY_REMINDER_DAYS working days and tells the owner at twice that;
- alerts the coordinator(s) about a transfer neither accepted nor declined within one
  working day.

Every day it also sends e-mails still pending in the outbox (the broker was down when they
were queued), so a receipt is never lost.

`morning_digest(now=None)` sends each officer one mail on working days: their cases due today,
overdue, and waiting for the company.

How a reminder is sent exactly once
-----------------------------------
Each reminder is a `Reminder` row, unique on (kind, subject_key, recipient_email). A sweep
streams the candidates of its sources (the open cases through a server-side cursor) in chunks
of SWEEP_CHUNK, in one transaction: each chunk is copied to a temporary table and inserted with
`INSERT ... ON CONFLICT DO NOTHING RETURNING`, stamped with the sweep's id; only what that
statement returns (what this sweep won) gets an event and a place in a mail. A second sweep, or
one running at the same moment in another worker, inserts nothing and sends nothing. The rows
are written in the same order in every sweep (source, case, key), so two sweeps never
deadlock. The subject keys contain the due date, so a deadline that is moved gets fresh
reminders. The number of queries grows with the chunks written, not with the open cases
looked at; what a sweep holds at once is a chunk and, per staff member, a mail summary
(`mail.MailBook`: a long list keeps its counts per unit and its oldest cases only).

A case whose reminders were derived is marked (`ReminderMark`: its deadline fields under a
digest of the day, the settings, the recipients and the Reminder rows); the next sweep skips
marked cases in SQL, so a sweep with nothing new derives nothing (`sources.remember_handled`).

A sweep with nothing new at all does not even read the cases (`quiet`): on PostgreSQL,
triggers record each transaction that writes a row the built-in sources read
(`followup.models.SweepChange`); a sweep consumes those records first, and when there were
none and the last complete sweep ran on the same day under the same settings, it skips the
built-in sources (plug-in sources always run).

Adding reminders from another app
---------------------------------
Another app adds a source of reminders, typically from its AppConfig.ready()::

    from followup.reminders import Candidate, register_source

    def action_item_reminders(ctx):            # ctx: SweepContext
        for item in ActionItem.objects.filter(done_at__isnull=True,
                                              due_on__lte=ctx.next_working_day):
            yield Candidate(
                kind="action_item_due",                   # Reminder.kind, max 48 chars
                subject_key=f"action_item:{item.pk}:{item.due_on}",  # max 120 chars
                recipient_email=item.owner.email,
                recipient_id=item.owner_id,
                template="emails/reminder_action_item_due",   # _subject.txt and .txt
                case_id=item.case_id,                       # or None
                due_on=item.due_on,
                context={"item_title": item.title},         # plain values for the template
            )

    register_source(action_item_reminders)

A source is called once per sweep on working days, with a `SweepContext` (now, today,
next_working_day, overdue_cutoff(days), end_of_day(date), escalate_after_days,
company_reminder_days, coordinators(), unit_leads(department_id), unit_email(department_id)).
It must find its work with a constant number of queries and return an iterable of
`Candidate`s (plug-ins are asked before the sweep's transaction; the built-in sources are
read while it writes); the sweep de-duplicates them, records the Reminder rows, queues the
e-mails after commit and records a CaseEvent (REMINDER_SENT, or ESCALATED with
escalation=True) on the case when there is one. A plug-in candidate's mail is rendered from
`<template>_subject.txt` and `<template>.txt` (plain text, `{% load i18n %}` only: the mails
have a template engine of their own) with `base_url`, `recipient` (the User, when
recipient_id is set), `due_on`, `case` (when case_id is set: a dict with reference, subject,
status, received_at, first_answer_due, due_at, waiting_since, owning_department.name and owner
or None) and the candidate's `context`. register_source is idempotent. This is the only kind
of source.

The built-in staff reminders to one address in one sweep go out as one e-mail listing them
(templates/emails/reminders.txt, one section per kind from reminder_<kind>.txt); the company
gets one mail per case and follower (reminder_company_waiting.txt).
"""

from followup.reminders import sources  # noqa: F401  (registers the built-in sources)
from followup.reminders.mail import SECTION_LIST_LIMIT  # noqa: F401
from followup.reminders.protocol import (  # noqa: F401
    Candidate,
    Source,
    SweepContext,
    SweepReport,
    _sources,
    company_reminder_days,
    escalate_after_days,
    register_source,
)
from followup.reminders.sweep import deliver, morning_digest, reminder_sweep  # noqa: F401
