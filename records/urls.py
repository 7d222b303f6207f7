"""Public records on the staff side; included under /handlaggning/ (namespace "records")."""

from django.urls import path

from records import views as records

app_name = "records"

_CASE = "arenden/<str:reference>/"

urlpatterns = [
    path(_CASE + "sekretess/", records.case_confidential, name="case_confidential"),
    path(
        _CASE + "meddelanden/<int:pk>/sekretess/",
        records.message_confidential,
        name="message_confidential",
    ),
    path(_CASE + "utlamna/", records.case_export, name="case_export"),
    path(_CASE + "logg/", records.case_audit_log, name="case_audit_log"),
]
