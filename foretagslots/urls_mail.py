"""The URLs e-mails link to: the case pages (public and staff) and the meetings, mounted
exactly as in foretagslots/urls.py (tests/test_urls_mail.py keeps them equal).

The reminder sweep renders its mails with this URLconf (followup.reminders.mail.mail_urls)
so that a worker running it does not import the whole site to build a link: the root
URLconf brings in the API (Django REST framework, its schema views, JWT and cryptography),
the admin and the calendar export, about 24 MiB of a process that otherwise needs ~95.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("cases.urls.public")),
    path("handlaggning/", include("cases.urls.staff")),
    path("lots/moten/", include("meetings.urls")),
]
