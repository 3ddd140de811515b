"""The emulator over real HTTP (python -m graph_auth.emulator): malformed requests get a 400."""
import socket
from urllib.parse import urlsplit

import pytest

from graph_auth.emulator.default_directory import CONTOSO_ID

from .serving import served


def raw_request(base_url: str, head: str, body: bytes = b"") -> bytes:
    """Send bytes as they are (no client library would send these) and read the whole answer."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("length", ["abc", "-5", "-1", "1.5", "+3", "0x10", "9" * 5000, "\uff11\uff12"])
@pytest.mark.parametrize("host", ["login.microsoftonline.com", "graph.microsoft.com"])
def test_bad_content_length_is_a_400(entra_emulator, length, host):
    with served(entra_emulator) as url:
        answer = raw_request(url, f"POST /{CONTOSO_ID}/oauth2/v2.0/token HTTP/1.1\nHost: 127.0.0.1\n"
                                  f"X-Emulated-Host: {host}\n"
                                  "Content-Type: application/x-www-form-urlencoded\n"
                                  f"Content-Length: {length}\n", b"grant_type=client_credentials")
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.endswith(b" 400 Bad Request"), answer[:300]
    assert b"Content-Length" in answer.split(b"\r\n\r\n", 1)[1]
    assert entra_emulator.errors == []


def test_the_server_still_answers_after_a_bad_request(entra_emulator):
    with served(entra_emulator) as url:
        raw_request(url, "POST / HTTP/1.1\nHost: 127.0.0.1\nContent-Length: nope\n")
        answer = raw_request(url, f"GET /{CONTOSO_ID}/v2.0/.well-known/openid-configuration HTTP/1.1\n"
                                  "Host: 127.0.0.1\nX-Emulated-Host: login.microsoftonline.com\n")
    assert answer.split(b"\r\n", 1)[0].endswith(b" 200 OK")
    assert b'"token_endpoint"' in answer
