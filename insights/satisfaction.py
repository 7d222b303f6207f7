"""The dashboard's satisfaction figures (Insikt NKI): the survey answers of a period per unit,
per area and per Insikt area, and in total for the period and the one before."""

from django.db import connection

from insights.models import Feedback
from insights.periods import _db_datetime
from insights.tables import _indices

ITEMS = Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS


def _satisfaction(period, units):
    """Survey answers of the period per unit, per area and per Insikt area, and in total for
    the period and the one before: one statement that reads the period's answers once
    (grouping sets on PostgreSQL; a union of the four groupings elsewhere) and the period
    before's for its total, instead of a query per grouping over both periods."""
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    table = Feedback._meta.db_table
    unit_filter, unit_params = "", []
    if units is not None:
        ids = sorted(units) or [-1]
        unit_filter = f" AND department_id IN ({', '.join(['%s'] * len(ids))})"
        unit_params = ids
    bounds = [_db_datetime(moment) for moment in (cur_from, cur_to, prev_from, prev_to)]
    answered = "answered_at IS NOT NULL AND answered_at >= %s AND answered_at < %s"
    keys = ("department_id", "area_id", "insikt_area")
    averages = ", ".join(f"AVG({item})" for item in ITEMS)
    # The period before is compared in total and by NKI only (no factors).
    before = f"""
        SELECT 0, FALSE, NULL, NULL, NULL, COUNT(*),
               {", ".join(f"AVG({item})" for item in Feedback.NKI_ITEMS)},
               {", ".join(["NULL"] * len(Feedback.FACTOR_ITEMS))}
        FROM {table} WHERE {answered}{unit_filter}
    """  # noqa: S608
    # Part 0: in total; 1–3: per unit, area and Insikt area.
    # Only fixed SQL fragments and placeholders are put together here; values are params.
    if connection.vendor == "postgresql":
        sql = f"""
            SELECT CASE WHEN GROUPING(department_id) = 0 THEN 1
                        WHEN GROUPING(area_id) = 0 THEN 2
                        WHEN GROUPING(insikt_area) = 0 THEN 3 ELSE 0 END,
                   TRUE, {", ".join(keys)}, COUNT(*), {averages}
            FROM {table} WHERE {answered}{unit_filter}
            GROUP BY GROUPING SETS ((), (department_id), (area_id), (insikt_area))
            UNION ALL {before}
        """  # noqa: S608
        params = [*bounds[:2], *unit_params, *bounds[2:], *unit_params]
    else:
        parts = []
        for part, key in enumerate((None, *keys)):
            columns = ", ".join(name if name == key else "NULL" for name in keys)
            parts.append(
                f"SELECT {part}, TRUE, {columns}, COUNT(*), {averages} "  # noqa: S608
                f"FROM {table} WHERE {answered}{unit_filter}" + (f" GROUP BY {key}" if key else "")
            )
        sql = " UNION ALL ".join([*parts, before])
        params = [*bounds[:2], *unit_params] * len(parts) + [*bounds[2:], *unit_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result: dict = {"unit": {}, "area": {}, "insikt": {}}
    totals = {True: {"n": 0}, False: {"n": 0}}
    dims = (None, "unit", "area", "insikt")
    for part, current, unit, area, insikt, n, *means in rows:
        current = bool(current)  # SQLite gives 1/0
        values = {
            "n": n,
            **{
                item: None if mean is None else float(mean)
                for item, mean in zip(ITEMS, means, strict=True)
            },
        }
        if part == 0:
            if not current:  # the period before has no factors
                values = {key: values[key] for key in ("n", *Feedback.NKI_ITEMS)}
            totals[current] = values
        else:
            result[dims[part]][(None, unit, area, insikt)[part]] = _indices(values)
    result["total"] = {"cur": _indices(totals[True]), "prev": _indices(totals[False])}
    return result
