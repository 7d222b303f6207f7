from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/arenden.csv", views.export_cases, name="export_cases"),
    path("export/insikt-arenden.csv", views.export_insikt, name="export_insikt"),
    path("export/<slug:name>.csv", views.export_table, name="export_table"),
]
