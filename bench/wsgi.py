"""The WSGI application of bench/run.py's gunicorn servers (settings: bench.settings). With
BENCH_NAIVE=1 it swaps in the herd's baseline: a naive last-write-wins token store."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
application = get_wsgi_application()

if os.environ.get("BENCH_NAIVE") == "1":
    from bench.naive_store import use_naive_store
    use_naive_store()
