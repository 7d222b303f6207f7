"""A unit's lead has one source of truth, `Membership(role="lead")`: every `Department.lead`
first becomes (or is promoted to) a lead membership, then the field goes."""

from django.db import migrations


def leads_to_memberships(apps, schema_editor):
    Department = apps.get_model("departments", "Department")
    Membership = apps.get_model("departments", "Membership")
    for department in Department.objects.filter(lead__isnull=False):
        Membership.objects.update_or_create(
            user_id=department.lead_id, department=department, defaults={"role": "lead"}
        )


def memberships_to_leads(apps, schema_editor):
    Department = apps.get_model("departments", "Department")
    Membership = apps.get_model("departments", "Membership")
    for membership in Membership.objects.filter(role="lead").order_by("pk"):
        Department.objects.filter(pk=membership.department_id, lead__isnull=True).update(
            lead_id=membership.user_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("departments", "0002_alter_responsibilityarea_keywords"),
    ]

    operations = [
        migrations.RunPython(leads_to_memberships, memberships_to_leads),
        migrations.RemoveField(model_name="department", name="lead"),
    ]
