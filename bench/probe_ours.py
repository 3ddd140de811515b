"""The comparison's probe of graph_auth, run by bench/run.py in graph_auth's venv as a fresh process
(settings: bench/probe_settings.py, the smallest project using graph_auth):

    python bench/probe_ours.py --emulator http://127.0.0.1:PORT

graph_auth runs as an app uses it: ``app_graph()`` (msal's client-credentials grant, instance and
tenant discovery included; the token kept in memory and in an encrypted database row), sync ``get``
and async ``aget``; EMULATOR_URL sends its requests to the emulator. Django's import and setup count
as graph_auth's import. See bench/probe.py for what is measured.
"""
import time

START = time.perf_counter()

import asyncio  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import probe  # noqa: E402  (standard library only)


def main(emulator: str, calls: int, size: bool) -> dict:
    os.environ["BENCH_EMULATOR_URL"] = emulator
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.probe_settings"
    sys.path.insert(0, os.path.dirname(HERE))
    marks = probe.Marks(START)
    import django
    django.setup()
    from graph_auth.app_tokens import app_graph
    marks.mark("import")
    graph = app_graph()
    marks.mark("build")
    assert graph.get(f"/users/{probe.USER}")["displayName"]
    marks.mark("first_call")

    from graph_auth.http import get_async_client, get_session
    path = f"/users/{probe.USER}"
    headers = {"Authorization": f"Bearer {graph.token_provider.get_token()}"}
    session, url = get_session(), graph.url(path)

    def floor():
        session.get(url, headers=headers).json()
    per_call = probe.alternate(lambda: graph.get(path), floor, calls)

    async def async_per_call():
        client = get_async_client()

        async def afloor():
            (await client.get(url, headers=headers)).json()
        return await probe.aalternate(lambda: graph.aget(path), afloor, calls)
    async_call = asyncio.run(async_per_call())

    before = probe.graph_requests(emulator)
    answers = graph.batch([{"method": "GET", "url": path} for _ in range(probe.BATCH_GETS)])
    result = {"stack": "graph_auth", "spans": marks.spans, "per_call": per_call, "async_per_call": async_call,
              "batch": probe.batch_summary(emulator, before, [a.get("status") for a in answers]),
              "peak_rss_mb": probe.peak_rss_mb()}
    if size:
        import graph_auth
        result["installed"] = probe.installed_size(["django-graph-auth"], (os.path.dirname(graph_auth.__file__),))
    return result


if __name__ == "__main__":
    args = probe.arguments()
    probe.emit(main(args.emulator, args.calls, args.size))
