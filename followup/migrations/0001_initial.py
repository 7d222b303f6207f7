"""SweepChange and SweepState, and the PostgreSQL triggers that record a SweepChange row for
every transaction that writes what the built-in reminder sources read."""

from django.db import migrations, models

# (app label, model, columns whose UPDATE matters: None for every column, () for none).
# INSERT, DELETE and TRUNCATE always count, except for a sent reminder: the sweep's own
# inserts and its e-mail links change nothing another sweep would derive.
WATCHED = (
    (
        "cases",
        "Case",
        (
            "status",
            "owner",
            "owning_department",
            "first_answer_due",
            "due_at",
            "first_answered_at",
            "waiting_since",
            "received_at",
        ),
    ),
    ("cases", "CaseFollower", None),
    ("cases", "CaseDepartment", None),
    ("cases", "Transfer", None),
    ("cases", "Reminder", ("kind", "subject_key", "recipient_email")),
    ("departments", "Department", None),
    ("departments", "Membership", None),
    ("auth", "User", ("email", "is_active", "is_superuser")),
    ("auth", "Permission", None),
    ("auth", "Group", None),
)

FUNCTION = (
    "CREATE OR REPLACE FUNCTION followup_sweep_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " INSERT INTO followup_sweepchange (txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;"
    " RETURN NULL;"
    " END $$"
)


def _tables(apps):
    """(table, trigger events) of every watched table, many-to-many tables included."""
    for label, name, columns in WATCHED:
        model = apps.get_model(label, name)
        meta = model._meta
        if columns is None:
            update = "UPDATE"
        else:
            update = "UPDATE OF " + ", ".join(meta.get_field(c).column for c in columns)
        events = "INSERT OR DELETE OR TRUNCATE" if name != "Reminder" else "DELETE OR TRUNCATE"
        yield meta.db_table, f"{events} OR {update}"
        for field in meta.local_many_to_many:  # group and permission memberships
            yield field.remote_field.through._meta.db_table, "INSERT OR DELETE OR TRUNCATE OR UPDATE"


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # elsewhere every sweep derives everything (followup.reminders.quiet)
    schema_editor.execute(FUNCTION)
    quote = schema_editor.quote_name
    for table, events in _tables(apps):
        schema_editor.execute(
            f"CREATE TRIGGER followup_sweep_changed AFTER {events} ON {quote(table)}"
            " FOR EACH STATEMENT EXECUTE FUNCTION followup_sweep_changed()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _events in _tables(apps):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS followup_sweep_changed ON {schema_editor.quote_name(table)}"
        )
    schema_editor.execute("DROP FUNCTION IF EXISTS followup_sweep_changed()")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("cases", "0013_ownership_returned_after"),
        ("departments", "0003_remove_department_lead"),
    ]

    operations = [
        migrations.CreateModel(
            name="SweepChange",
            fields=[("txid", models.BigIntegerField(primary_key=True, serialize=False))],
        ),
        migrations.CreateModel(
            name="SweepState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("context", models.CharField(max_length=64)),
                ("swept_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
