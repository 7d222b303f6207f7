"""Who of a unit's officers takes a case: proposed at intake and when a transfer is accepted."""

from functools import cache

from django.contrib.auth import get_user_model

from cases.models import Case
from departments.models import Membership


@cache
def proposal_sql(company_id: str = "%s") -> str:
    """The unit's available members, best first: the officer of the company's latest case with
    the unit, then officers before leads, then by the number of open cases they own (in any
    unit), then by id. Both subqueries run on an index (`case_company_unit_recent_idx`,
    `case_open_owner_idx`). Written once as SQL: a submission is on the hot path, and building
    the same query through the ORM cost more than running it. Parameters: the company's id
    (unless `company_id` is an SQL expression for it, as in the intake's first statement), the
    unit's id, the unit's id, True, True."""
    user, member, case = (m._meta.db_table for m in (get_user_model(), Membership, Case))
    closed, lead = Case.Status.CLOSED.value, Membership.Role.LEAD.value
    # The company's officer sorts first whatever their load, so their open cases are not
    # counted: a returning company's officer is the one with the most of them.
    return f"""
        SELECT u.* FROM (
            SELECT m.*, m.user_id IS NOT DISTINCT FROM (
                SELECT c.owner_id FROM {case} c
                WHERE c.company_id = {company_id} AND c.owning_department_id = %s
                    AND c.owner_id IS NOT NULL
                ORDER BY c.received_at DESC, c.id DESC LIMIT 1
            ) AS companys
            FROM {member} m WHERE m.department_id = %s AND m.is_available = %s
        ) m JOIN {user} u ON m.user_id = u.id
        WHERE u.is_active = %s
        ORDER BY
            CASE WHEN m.companys THEN 0 ELSE 1 END,
            CASE WHEN m.role = '{lead}' THEN 1 ELSE 0 END,
            CASE WHEN m.companys THEN 0 ELSE (
                SELECT COUNT(*) FROM {case} c
                WHERE c.owner_id = m.user_id AND c.status <> '{closed}'
            ) END,
            m.user_id
        LIMIT 1
    """  # noqa: S608 (table names and constants from the models, values as parameters)


def propose_owner(department, company=None):
    """An available officer of the unit: the company's officer from its latest case with the
    unit if still available there, else the one with the fewest open cases (ties by id).
    Unit leads are proposed only when no officer is available. One query."""
    if department is None:
        return None
    company_id = company.pk if company is not None else None
    params = [company_id, department.pk, department.pk, True, True]
    return next(iter(get_user_model().objects.raw(proposal_sql(), params)), None)
