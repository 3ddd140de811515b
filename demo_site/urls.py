from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    # The emulator's sign-in pages (they answer 404 unless graph_auth runs on its emulator).
    path("_emulator/", include("graph_auth.emulator.urls")),
]
