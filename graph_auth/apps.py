from django.apps import AppConfig


class GraphAuthConfig(AppConfig):
    name = "graph_auth"
    verbose_name = "Sign in with Microsoft"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
