import datetime as dt

from django.db import migrations


def fill(apps, schema_editor):
    from cases.deadlines import is_working_day

    WorkingDay = apps.get_model("insights", "WorkingDay")
    day, end, ordinal, rows = dt.date(2015, 1, 1), dt.date(2045, 12, 31), 0, []
    while day <= end:
        working = is_working_day(day)
        ordinal += working
        rows.append(WorkingDay(date=day, ordinal=ordinal, is_working_day=working))
        day += dt.timedelta(days=1)
    WorkingDay.objects.bulk_create(rows, batch_size=2000)


def empty(apps, schema_editor):
    apps.get_model("insights", "WorkingDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_feedback_and_calendar")]

    operations = [migrations.RunPython(fill, empty)]
