"""Rows of several tables written in one statement.

On PostgreSQL the groups are chained as data-modifying CTEs (`WITH w0 AS (INSERT … RETURNING
id), w1 AS (INSERT … RETURNING id) SELECT …`): one round trip instead of one per table, and
every object gets its primary key back. Other databases get one bulk INSERT per group.
"""

from django.db import connection
from django.db.models import Model
from django.db.models.sql import InsertQuery


def insert_together(groups: list[list[Model]]) -> None:
    """Insert every object of every group; every object gets its pk."""
    groups = [group for group in groups if group]
    if not groups:
        return
    if connection.vendor != "postgresql" or len(groups) == 1:
        for group in groups:
            type(group[0]).objects.bulk_create(group)
        return
    quote = connection.ops.quote_name
    statements, selects, params = [], [], []
    for index, group in enumerate(groups):
        model = type(group[0])
        opts = model._meta
        for obj in group:
            obj._prepare_related_fields_for_save(operation_name="insert_together")
        fields = [
            field
            for field in opts.concrete_fields
            if not field.generated and not (field.primary_key and field.auto_created)
        ]
        query = InsertQuery(model)
        query.insert_values(fields, group)
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [opts.pk]
        ((sql, values),) = compiler.as_sql()
        statements.append(f"w{index} AS ({sql})")
        selects.append(f"SELECT {index} AS grp, {quote(opts.pk.column)} AS pk FROM w{index}")  # noqa: S608 (model metadata)
        params.extend(values)
    # A serial key is drawn row by row in VALUES order, so ordering by it gives insert order.
    sql = f"WITH {', '.join(statements)} {' UNION ALL '.join(selects)} ORDER BY grp, pk"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objects = [obj for group in groups for obj in group]
    for obj, (_group, pk) in zip(objects, rows, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
