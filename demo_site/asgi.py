"""ASGI entry point for the demo (``uvicorn demo_site.asgi:application``): its async pages call
Graph concurrently."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")
application = get_asgi_application()
