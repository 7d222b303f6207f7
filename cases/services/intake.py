"""A company's question becomes a case: company, routing, deadlines, receipt."""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

import routing
from cases.bulk import Fill, announce_created, insert_together
from cases.deadlines import add_working_days
from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
    CaseFollower,
    CaseOwnershipPeriod,
    Company,
    ReferenceCounter,
    new_token,
)
from cases.owners import proposal_sql, propose_owner
from cases.services.attachments import attachments_store
from cases.services.events import event_new, events_announce
from departments.models import Department, ResponsibilityArea
from outbox.services import deferred_email, lookup, send_after_commit

DEFAULT_FIRST_ANSWER_DAYS = 2
DEFAULT_RESOLUTION_DAYS = 10


@dataclass(frozen=True)
class Inquiry:
    """What a company tells us, from the public form or registered by staff."""

    company_name: str
    contact_name: str
    email: str
    subject: str
    description: str
    org_number: str = ""  # normalised NNNNNN-NNNN, or empty
    phone: str = ""
    area: ResponsibilityArea | None = None
    channel: str = Case.Channel.WEB


def company_for(*, org_number: str, name: str) -> Company:
    """The company with this organisation number, or a new one. Without a number (a business
    not yet registered) every inquiry gets its own company record."""
    if not org_number:
        return Company.objects.create(name=name)
    company = Company.objects.filter(org_number=org_number).first()
    if company is not None:  # a returning company: one read, no savepoint
        return company
    try:
        with transaction.atomic():
            company, _created = Company.objects.get_or_create(
                org_number=org_number, defaults={"name": name}
            )
    except IntegrityError:  # created by a concurrent submission between get and create
        company = Company.objects.get(org_number=org_number)
    return company


def triage_department() -> Department:
    return Department.objects.get(slug=settings.TRIAGE_DEPARTMENT_SLUG)


@transaction.atomic
def case_create(*, inquiry: Inquiry, actor=None, files=()) -> tuple[Case, CaseFollower]:
    """Register an inquiry as a case, route it and queue the receipt to the company.
    `files` are checked attachments sent with the question."""
    result = routing.route(inquiry.subject, inquiry.description, chosen_area=inquiry.area)
    received_at = timezone.now()
    primary = result.areas[0].area if result.areas else None
    unit = None if result.needs_triage else result.owning_department
    company = owner = case_id = fill = None
    reference = ""
    if connection.vendor == "postgresql":
        company, owner, case_id = _draw(inquiry, unit, received_at)
        # The reference is drawn by the statement that writes the case (its counter row stays
        # locked until COMMIT); until then the rows carry the fill's placeholder.
        year = timezone.localtime(received_at).year
        fill = Fill(*reference_sql(year))
        reference = fill.placeholder
    if company is None:
        company = company_for(org_number=inquiry.org_number, name=inquiry.company_name)
        owner = propose_owner(unit, company)
    case = Case(
        pk=case_id,
        reference=reference,
        company=company,
        company_name_typed=inquiry.company_name,
        contact_name=inquiry.contact_name,
        contact_email=inquiry.email,
        contact_phone=inquiry.phone,
        subject=inquiry.subject,
        description=inquiry.description,
        channel=inquiry.channel,
        status=Case.Status.RECEIVED,
        owning_department=result.owning_department,
        owner=owner,
        primary_area=primary,
        received_at=received_at,
        first_answer_due=add_working_days(
            received_at, primary.first_answer_days if primary else DEFAULT_FIRST_ANSWER_DAYS
        ),
        # The case is done when its slowest area is: bygglov (50) and serveringstillstånd (40)
        # together must not promise the 10 days of a simple question.
        due_at=add_working_days(
            received_at,
            max(
                (scored.area.resolution_days for scored in result.areas),
                default=DEFAULT_RESOLUTION_DAYS,
            ),
        ),
        needs_triage=result.needs_triage,
        routing_confidence=result.confidence,
        routing_explanation=result.explanation,
        insikt_area=primary.insikt_area if primary else "",
    )
    if case_id is None:
        case.save()  # draws the reference
    areas = [
        CaseArea(case=case, area=scored.area, is_primary=index == 0, position=index)
        for index, scored in enumerate(result.areas)
    ]
    period = CaseOwnershipPeriod(
        case=case, department=case.owning_department, started_at=received_at
    )
    follower = CaseFollower(
        case=case,
        name=inquiry.contact_name,
        email=inquiry.email,
        is_primary_contact=True,
        token=new_token(),
    )

    events = [
        event_new(
            case,
            CaseEvent.Kind.CREATED,
            actor=actor,
            public=True,
            data={"channel": case.channel, "reference": case.reference},
        ),
        event_new(
            case,
            CaseEvent.Kind.ROUTED,
            actor=actor,
            public=True,
            data={
                "department": case.owning_department.name,
                "department_id": case.owning_department_id,
                "areas": [scored.area.slug for scored in result.areas],
                "scores": {scored.area.slug: round(scored.score, 3) for scored in result.areas},
                "confidence": round(result.confidence, 3),
                "explanation": result.explanation,
                "needs_triage": result.needs_triage,
                "chosen_area": inquiry.area.slug if inquiry.area else None,
            },
        ),
    ]
    if case.owner_id:
        events.append(
            event_new(
                case,
                CaseEvent.Kind.ASSIGNED,
                actor=actor,
                public=True,
                data={
                    "owner": case.owner.get_full_name() or case.owner.username,
                    "automatic": True,
                },
            )
        )

    # Rendered and sent by the worker after commit (one task for both mails). A company
    # registered by phone without an e-mail address gets no receipt.
    mails = []
    if follower.email:
        mails.append(
            deferred_email(
                kind="receipt",
                to=follower.email,
                template="emails/receipt",
                context={"case": case, "follower": lookup(follower, "token")},
                case=case,
            )
        )
    if case.owner and case.owner.email:
        mails.append(
            deferred_email(
                kind="case_assigned",
                to=case.owner.email,
                template="emails/case_assigned",
                context={"case": case, "recipient": case.owner},
                case=case,
            )
        )
    # On PostgreSQL the case with all its rows in one statement (data-modifying CTEs).
    rows = [areas, _departments(case, result), [period], [follower], events, mails]
    insert_together([[case], *rows] if case_id is not None else rows, fill=fill)
    if case_id is not None:
        announce_created([case])  # e.g. the dashboard's summary row (insights)
    attachments_store(case=case, files=files, from_company=True)
    events_announce(events)
    send_after_commit(mails)
    return case, follower


def _departments(case: Case, result: "routing.api.RoutingResult") -> list[CaseDepartment]:
    """The owning unit, plus every other unit whose area the question concerns, so that they
    see the case from the start."""
    rows = [
        CaseDepartment(
            case=case,
            department=case.owning_department,
            role=CaseDepartment.Role.OWNER,
            officer=case.owner,
        )
    ]
    seen = {case.owning_department_id}
    for scored in result.areas:
        if scored.area.owner_id not in seen:
            seen.add(scored.area.owner_id)
            rows.append(
                CaseDepartment(
                    case=case,
                    department_id=scored.area.owner_id,
                    role=CaseDepartment.Role.CONTRIBUTOR,
                )
            )
    return rows


def _draw(inquiry: Inquiry, unit: Department | None, received_at):
    """PostgreSQL: in one statement, the case's id, the company (found by its number, or
    added) and the proposed officer (as `propose_owner`): (company, owner or None, case id).
    The company is None when a concurrent submission added it after this statement began
    (then `company_for` reads it). It locks nothing another submission waits for (a new
    company's number aside), so it runs while other submissions commit."""
    org_number = inquiry.org_number or None
    unit_id = unit.pk if unit is not None else None
    params = [org_number, inquiry.company_name, received_at, org_number, org_number]
    params += [org_number, unit_id, unit_id, True, True]
    with connection.cursor() as cursor:
        cursor.execute(_draw_sql(), params)
        row = cursor.fetchone()
    case_id, *values = row
    company_fields, user_fields = _draw_fields()
    company_values, user_values = values[: len(company_fields)], values[len(company_fields) :]
    if company_values[0] is None:
        return None, None, case_id
    alias = connection.alias
    company = Company.from_db(alias, [f.attname for f in company_fields], company_values)
    owner = None
    if user_values[0] is not None:
        user_model = get_user_model()
        owner = user_model.from_db(alias, [f.attname for f in user_fields], user_values)
    return company, owner, case_id


def reference_sql(year: int) -> tuple[str, list]:
    """PostgreSQL: `ReferenceCounter.next_reference` as a statement whose one row's `value`
    is the reference as `ReferenceCounter.reference` writes it (five digits or more), for
    `insert_together`'s `Fill`: the counter row stays locked until COMMIT, so the later in
    the transaction it is drawn, the shorter the next submission waits."""
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    number = "rc.last_number::text"
    sql = (
        f"INSERT INTO {table} AS rc (year, last_number) VALUES (%s, 1) "  # noqa: S608
        "ON CONFLICT (year) DO UPDATE SET last_number = rc.last_number + 1 "
        f"RETURNING %s::text || '-' || rc.year || '-' || "
        f"lpad({number}, greatest(5, length({number})), '0') AS value"
    )
    return sql, [year, settings.CASE_REFERENCE_PREFIX]


@cache
def _draw_fields():
    return Company._meta.concrete_fields, get_user_model()._meta.concrete_fields


@cache
def _draw_sql() -> str:
    quote = connection.ops.quote_name
    company_fields, user_fields = _draw_fields()
    company, case = (quote(model._meta.db_table) for model in (Company, Case))
    company_columns = ", ".join(quote(f.column) for f in company_fields)
    added = [f for f in company_fields if f.column in ("org_number", "name", "created_at")]
    assert [f.column for f in added] == ["org_number", "name", "created_at"]
    selected = [f"co.{quote(f.column)}" for f in company_fields]
    selected += [f"o.{quote(f.column)}" for f in user_fields]
    # Only model metadata is put together here; every value is a parameter.
    return f"""
        WITH added AS (
            INSERT INTO {company} (org_number, name, created_at)
            SELECT %s, %s, %s
            WHERE %s::varchar IS NULL
                OR NOT EXISTS (SELECT 1 FROM {company} WHERE org_number = %s)
            ON CONFLICT (org_number) DO NOTHING
            RETURNING {company_columns}
        ), co AS (
            SELECT {company_columns} FROM added
            UNION ALL
            SELECT {company_columns} FROM {company} WHERE org_number = %s
        )
        SELECT nextval(pg_get_serial_sequence('{case}', 'id')), {", ".join(selected)}
        FROM (SELECT 1) AS one
        LEFT JOIN co ON TRUE
        LEFT JOIN LATERAL ({proposal_sql("co.id")}) o ON TRUE
    """  # noqa: S608
