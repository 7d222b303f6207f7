"""CaseOwnershipPeriod.returned_after: when the case last left the same unit, derived for the
periods that exist (cases.ownership)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    # The same derivation COPY seeding uses (safe to run again: mark_returns).
    from cases.ownership import mark_returns

    mark_returns(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_proposal_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseownershipperiod",
            name="returned_after",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
