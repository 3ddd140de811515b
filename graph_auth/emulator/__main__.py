"""Serve an emulator over HTTP, for several processes to share one (benchmarks, demos):

    python -m graph_auth.emulator --port 8400

Point graph_auth at it with GRAPH_AUTH["EMULATOR_URL"] = "http://127.0.0.1:8400". Requests keep
their production URLs; only the transport sends them there (the Host header says which service).
"""
from __future__ import annotations

import argparse
import contextlib
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .emulator import Emulator


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):        # the emulator keeps its own request log
        pass


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0):
    """Return a started-ready WSGI server for ``emulator`` (call ``serve_forever()``)."""
    server = make_server(host, port, emulator, server_class=_Server, handler_class=_QuietHandler)
    emulator.settings.browser_url = emulator.settings.browser_url or f"http://{host}:{server.server_port}"
    return server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    args = parser.parse_args(argv)
    server = serve(Emulator(), args.host, args.port)
    base = f"http://{args.host}:{server.server_port}"
    print(f"graph_auth emulator at {base}/ (device codes: {base}/devicelogin; Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
