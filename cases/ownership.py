"""When a case comes back to a unit it had before: `CaseOwnershipPeriod.returned_after`.

A new ownership period records when the case last left the same unit (None the first time).
The dashboard's time per unit counts the cases a unit held during a period once each: a
period counts unless the case was with that unit earlier in the same period, which is
`returned_after > period start` — a filter instead of COUNT(DISTINCT case), so the sum is
one hash aggregate over the periods (insights.selectors._time_with_units).

Periods are created one at a time through `save()` (transfers, reopening), which sets it;
the first period of a case (intake, bulk seeding) has none. `mark_returns()` derives it for
every period from the others (the migration, and seeding that writes periods with COPY).
"""

import datetime as dt

from django.db import connection as default_connection
from django.db.models import Max, Value
from django.db.models.functions import Coalesce

# An earlier period still open counts as never left (cannot happen through the services:
# a case has one open period, and it is ended before the next one starts).
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def left_unit_at(case_id: int, department_id: int) -> dt.datetime | None:
    """The end of the case's latest period with the unit so far (None: never with it)."""
    from cases.models import CaseOwnershipPeriod

    return CaseOwnershipPeriod.objects.filter(
        case_id=case_id, department_id=department_id
    ).aggregate(left=Max(Coalesce("ended_at", Value(NEVER))))["left"]


def mark_returns(*, connection=None) -> int:
    """Derive `returned_after` of every period from the case's earlier periods (by id) with
    the same unit. Safe to run again; returns the periods that came back to a unit."""
    connection = connection or default_connection
    never = connection.ops.adapt_datetimefield_value(NEVER)
    with connection.cursor() as cursor:
        cursor.execute(MARK_RETURNS_SQL, [never])
        return cursor.rowcount


MARK_RETURNS_SQL = """
    UPDATE cases_caseownershipperiod SET returned_after = earlier.left_at
    FROM (SELECT id, MAX(COALESCE(ended_at, %s)) OVER (
              PARTITION BY case_id, department_id ORDER BY id
              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS left_at
          FROM cases_caseownershipperiod) AS earlier
    WHERE earlier.id = cases_caseownershipperiod.id AND earlier.left_at IS NOT NULL
"""
