"""Rows of several tables written in one statement.

On PostgreSQL the groups are chained as data-modifying CTEs (`WITH a AS (INSERT …), b AS
(INSERT …) SELECT …`): one round trip instead of one per table. Every group gets its
primary keys back (RETURNING). Other databases get one bulk INSERT per group.
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
    statements, params = [], []
    for group in groups:
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
        statements.append(sql)
        params.extend(values)
    chained = ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(statements))
    # Every group's new keys, in insertion order (identifiers from the models, no user input).
    quote = connection.ops.quote_name
    pks = " UNION ALL ".join(
        f"SELECT {n}, {quote(type(group[0])._meta.pk.column)} FROM w{n}"  # noqa: S608
        for n, group in enumerate(groups)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {chained} {pks}", params)
        rows = cursor.fetchall()
    objects = iter(obj for group in groups for obj in group)
    for (_group, pk), obj in zip(rows, objects, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
