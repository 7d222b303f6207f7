from django.urls import path

from insights import views

app_name = "insights_public"

urlpatterns = [
    path("<str:token>/", views.feedback, name="feedback"),
]
