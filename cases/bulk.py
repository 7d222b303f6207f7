"""Rows of several tables written in one statement.

On PostgreSQL the groups are chained as data-modifying CTEs, each reading its rows from one
JSON parameter (`WITH w0 AS (INSERT INTO t (…) SELECT … FROM json_populate_recordset(NULL::t,
%s) RETURNING id), w1 AS (…) SELECT …`): one round trip instead of one per table, and every
object gets its primary key back. The statement depends only on which tables (and whether
the objects bring their own keys), so it is written once per process; a submission pays for
one `json.dumps` instead of compiling an ORM query and adapting ~40 array parameters. Other
databases get one bulk INSERT per group.
"""

import datetime as dt
import decimal
import json
import uuid
from functools import lru_cache

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save


def insert_together(groups: list[list[Model]]) -> None:
    """Insert every object of every group; every object gets its pk. An object that already
    has a pk (drawn ahead, e.g. from the table's sequence) is inserted with it."""
    groups = [group for group in groups if group]
    if not groups:
        return
    if connection.vendor != "postgresql":
        for group in groups:
            type(group[0]).objects.bulk_create(group)
        return
    shape = tuple((type(group[0]), all(obj.pk is not None for obj in group)) for group in groups)
    sql, fields_by_group = _statement(shape)
    params = [
        json.dumps([_row(obj, fields) for obj in group], separators=(",", ":"))
        for group, fields in zip(groups, fields_by_group, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objects = [obj for group in groups for obj in group]
    for obj, (_group, pk) in zip(objects, rows, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def announce_created(objects: list[Model]) -> None:
    """Objects inserted by `insert_together` (no post_save of their own): whoever listens to
    a model's saves hears of each one as if it had been saved alone."""
    for obj in objects:
        post_save.send(
            sender=type(obj),
            instance=obj,
            created=True,
            update_fields=None,
            raw=False,
            using=obj._state.db,
        )


@lru_cache(maxsize=32)
def _statement(shape: tuple[tuple[type[Model], bool], ...]) -> tuple[str, list[list]]:
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
        statements.append(
            f"w{index} AS (INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 (model metadata)
            f"FROM json_populate_recordset(NULL::{table}, %s::json) RETURNING {pk})"
        )
        selects.append(f"SELECT {index} AS grp, {pk} AS pk FROM w{index}")  # noqa: S608
        fields_by_group.append(fields)
    # Rows are inserted in the order of their JSON array, and a serial key is drawn row by row,
    # so ordering by it gives insert order.
    sql = f"WITH {', '.join(statements)} {' UNION ALL '.join(selects)} ORDER BY grp, pk"
    return sql, fields_by_group


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
