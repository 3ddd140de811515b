"""An emulator served over real HTTP on 127.0.0.1 (``python -m graph_auth.emulator``'s server)."""
from __future__ import annotations

import contextlib
import threading

from graph_auth.emulator.__main__ import serve


@contextlib.contextmanager
def running(server):
    """Run a WSGI ``server`` (listening on 127.0.0.1) in a thread; yield its base URL."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def served(emulator):
    """Serve ``emulator`` on a free local port in a thread; yield its base URL."""
    return running(serve(emulator, "127.0.0.1", 0))
