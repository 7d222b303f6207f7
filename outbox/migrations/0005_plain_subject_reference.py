"""The outbox knows nothing of cases: the foreign key to cases.Case becomes a plain id."""

from django.db import migrations, models


def copy_case_ids(apps, schema_editor):
    OutgoingEmail = apps.get_model("outbox", "OutgoingEmail")
    OutgoingEmail.objects.filter(case__isnull=False).update(subject_id=models.F("case_id"))


def copy_back(apps, schema_editor):
    OutgoingEmail = apps.get_model("outbox", "OutgoingEmail")
    OutgoingEmail.objects.filter(subject_id__isnull=False).update(case_id=models.F("subject_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0004_deferred_rendering"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="subject_id",
            field=models.PositiveBigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(copy_case_ids, copy_back),
        migrations.RemoveField(model_name="outgoingemail", name="case"),
    ]
