from django.apps import AppConfig


class GraphAuthConfig(AppConfig):
    name = "graph_auth"
    verbose_name = "Sign in with Microsoft"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (system checks, signal receivers)
        from .log import install_msal_filter
        install_msal_filter()             # msal's DEBUG records carry the code and the PKCE verifier
