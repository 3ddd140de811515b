"""Mount the emulator's browser pages: ``path("_emulator/", include("graph_auth.emulator.urls"))``."""
from django.urls import re_path

from .mount import page

app_name = "graph_auth_emulator"
urlpatterns = [re_path(r"^(?P<path>.*)$", page, name="page")]
