"""The emulator's URL mount under its first name; use ``graph_auth.emulator_urls`` (which does not
import the emulator package)."""
from ..emulator_urls import app_name, urlpatterns  # noqa: F401
