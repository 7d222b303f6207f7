"""Rows of several tables written in one statement.

On PostgreSQL the groups are chained as data-modifying CTEs, each reading its rows from one
JSON parameter (`WITH w0 AS (INSERT INTO t (…) SELECT … FROM json_populate_recordset(NULL::t,
%s) RETURNING id), w1 AS (…) SELECT …`): one round trip instead of one per table, and every
object gets its primary key back. The statement depends only on which tables (and whether
the objects bring their own keys), so it is written once per process; a submission pays for
one `json.dumps` instead of compiling an ORM query and adapting ~40 array parameters. Other
databases get one bulk INSERT per group.

A value that only the statement can know (the case's reference, drawn from the year's counter
row, which stays locked until COMMIT) is written into the rows as a `Fill`: a placeholder in
their text that the statement replaces with what `Fill.sql` returned, so that the lock is
taken by the last statement of the transaction instead of the first.

A higher app that keeps rows derived from a model's rows (the dashboard's per-case summary)
registers the statement that derives them with `write_along` (in its `AppConfig.ready`), and
on PostgreSQL it becomes one more CTE of the same statement, reading the new rows from their
CTE: `cases` does not import the app, and the submission saves a round trip.
"""

import dataclasses
import datetime as dt
import decimal
import json
import secrets
import uuid
from collections.abc import Callable
from functools import lru_cache

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save

# model -> {uid: derive}; derive(source) gives one data-modifying statement (SQL, params) that
# reads the model's new rows, every column, from the relation named `source`.
_WRITTEN_ALONG: dict[type[Model], dict[str, Callable[[str], tuple[str, list]]]] = {}


def write_along(model: type[Model], derive: Callable[[str], tuple[str, list]], *, uid: str):
    """On PostgreSQL, run `derive`'s statement in the same statement as every `insert_together`
    of `model`'s rows. Other databases: the app writes its rows when it hears `post_save`
    from `announce_created` (sent with `written_along=False` there)."""
    _WRITTEN_ALONG.setdefault(model, {})[uid] = derive
    _statement.cache_clear()


@dataclasses.dataclass(frozen=True)
class Fill:
    """A text value drawn by `sql` (one row, one column named `value`) in the same statement
    as the rows.

    Put `placeholder` where the value belongs in the objects' text fields (also inside JSON
    values); `insert_together` writes the drawn value there, in the database and on the
    objects. The placeholder is random per use, so no text a company typed can contain it.
    """

    sql: str
    params: list
    placeholder: str = dataclasses.field(default_factory=lambda: f"~fill-{secrets.token_hex(16)}~")


def insert_together(groups: list[list[Model]], *, fill: Fill | None = None) -> str | None:
    """Insert every object of every group; every object gets its pk. An object that already
    has a pk (drawn ahead, e.g. from the table's sequence) is inserted with it. With `fill`
    (PostgreSQL only), its value is drawn by the same statement and returned."""
    groups = [group for group in groups if group]
    if not groups:
        return None
    if connection.vendor != "postgresql":
        assert fill is None, "insert_together: a Fill needs PostgreSQL"
        for group in groups:
            type(group[0]).objects.bulk_create(group)
        return None
    shape = tuple((type(group[0]), all(obj.pk is not None for obj in group)) for group in groups)
    payloads = []
    fields_by_group = _statement(shape, ())[1]
    for group, fields in zip(groups, fields_by_group, strict=True):
        payloads.append(json.dumps([_row(obj, fields) for obj in group], separators=(",", ":")))
    filled = () if fill is None else tuple(fill.placeholder in text for text in payloads)
    parts, fields_by_group, select = _statement(shape, filled)
    ctes, params = [], []
    if fill is not None:
        ctes.append(f"fill AS ({fill.sql})")
        params.extend(fill.params)
    for index, (group, payload) in enumerate(zip(groups, payloads, strict=True)):
        ctes.append(parts[index])
        params.append(payload)
        if filled and filled[index]:
            params.append(fill.placeholder)
        for number, derive in enumerate(_WRITTEN_ALONG.get(type(group[0]), {}).values()):
            derived_sql, derived_params = derive(f"w{index}")
            ctes.append(f"w{index}_{number} AS ({derived_sql})")
            params.extend(derived_params)
    sql = f"WITH {', '.join(ctes)} {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objects = [obj for group in groups for obj in group]
    for obj, (_group, pk, *_value) in zip(objects, rows, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    if fill is None:
        return None
    value = rows[0][2]
    for group, fields, has_it in zip(groups, fields_by_group, filled, strict=True):
        if has_it:
            for obj in group:
                _fill_in(obj, fields, fill.placeholder, value)
    return value


def _fill_in(obj: Model, fields: list, placeholder: str, value: str) -> None:
    """The object's text fields as the statement wrote them: the placeholder replaced."""

    def replaced(item):
        if isinstance(item, str):
            return item.replace(placeholder, value)
        if isinstance(item, dict):
            return {key: replaced(val) for key, val in item.items()}
        if isinstance(item, list):
            return [replaced(val) for val in item]
        return item

    for model_field in fields:
        current = getattr(obj, model_field.attname)
        if isinstance(current, str | dict | list):
            setattr(obj, model_field.attname, replaced(current))


def announce_created(objects: list[Model]) -> None:
    """Objects inserted by `insert_together` (no post_save of their own): whoever listens to
    a model's saves hears of each one as if it had been saved alone. `written_along` tells a
    listener that its `write_along` statement already ran with the insert (PostgreSQL)."""
    on_postgresql = connection.vendor == "postgresql"
    for obj in objects:
        post_save.send(
            sender=type(obj),
            instance=obj,
            created=True,
            update_fields=None,
            raw=False,
            using=obj._state.db,
            written_along=on_postgresql and type(obj) in _WRITTEN_ALONG,
        )


@lru_cache(maxsize=32)
def _statement(
    shape: tuple[tuple[type[Model], bool], ...], filled: tuple[bool, ...]
) -> tuple[list[str], list[list], str]:
    """Each group's CTE, each group's fields, and the final SELECT of the new keys (and of
    the fill's value when there is one: `filled` says which groups hold its placeholder)."""
    quote = connection.ops.quote_name
    statements, selects, fields_by_group = [], [], []
    for index, (model, with_pk) in enumerate(shape):
        opts = model._meta
        fields = [
            field
            for field in opts.concrete_fields
            if not field.generated and (with_pk or not (field.primary_key and field.auto_created))
        ]
        table, pk = quote(opts.db_table), quote(opts.pk.column)
        columns = ", ".join(quote(field.column) for field in fields)
        returning = "*" if model in _WRITTEN_ALONG else pk  # derived rows read every column
        payload = "%s::json"
        if filled and filled[index]:
            # The value as it reads inside a JSON string (quotes and backslashes escaped).
            as_json = (
                "(SELECT substr(j, 2, length(j) - 2) FROM (SELECT to_json(value)::text AS j "
                "FROM fill) AS q)"
            )
            payload = f"replace(%s::text, %s::text, {as_json})::json"
        statements.append(
            f"w{index} AS (INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 (model metadata)
            f"FROM json_populate_recordset(NULL::{table}, {payload}) RETURNING {returning})"
        )
        selects.append(f"SELECT {index} AS grp, {pk} AS pk FROM w{index}")  # noqa: S608
        fields_by_group.append(fields)
    # Rows are inserted in the order of their JSON array, and a serial key is drawn row by row,
    # so ordering by it gives insert order.
    union = " UNION ALL ".join(selects)
    select = f"{union} ORDER BY grp, pk"
    if filled:
        select = (
            f"SELECT grp, pk, (SELECT value::text FROM fill) FROM ({union}) AS new ORDER BY grp, pk"  # noqa: S608
        )
    return statements, fields_by_group, select


def _row(obj: Model, fields: list) -> dict:
    """The object's column values as JSON values (what PostgreSQL's input functions read)."""
    obj._prepare_related_fields_for_save(operation_name="insert_together")
    row = {}
    for field in fields:
        value = field.pre_save(obj, add=True)  # auto_now(_add) and defaults, as an INSERT does
        if value is not None:
            if field.get_internal_type() == "JSONField":
                if field.encoder is not None:
                    value = json.loads(json.dumps(value, cls=field.encoder))
            elif isinstance(value, dt.date | dt.time):  # datetimes are aware (USE_TZ)
                value = value.isoformat()
            elif isinstance(value, decimal.Decimal | uuid.UUID):
                value = str(value)
            elif not isinstance(value, str | int | float | bool):
                raise TypeError(f"insert_together: {field} holds a {type(value).__name__}")
        row[field.column] = value
    return row
