"""The HTTP adapter against real local servers: streaming, error typing, Retry-After, redaction."""

from __future__ import annotations

import hashlib
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from postpilot.publishers.errors import AuthError, PermanentError, RateLimited, TransientError
from postpilot.publishers.http import (
    HttpClient,
    NetworkError,
    file_chunks,
    raise_for_platform,
    redact,
    retry_after,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_redact_removes_given_secrets_and_token_shapes() -> None:
    """Known secrets, bearer values, token fields and whsec_ secrets are all replaced."""
    text = (
        'Authorization: Bearer ya29.AbCdEf123 {"access_token": "tok-123456", '
        '"refresh_token":"r-999999"} client_secret=shh12345&x=1 whsec_QUJDREVG my-own-secret'
    )
    out = redact(text, ["my-own-secret"])
    for secret in ("ya29.AbCdEf123", "tok-123456", "r-999999", "shh12345", "QUJDREVG", "my-own"):
        assert secret not in out
    assert "x=1" in out


def test_retry_after_reads_seconds_and_http_dates(httpserver: HTTPServer) -> None:
    """Retry-After in seconds and as an HTTP-date both give an absolute time."""
    httpserver.expect_request("/s").respond_with_data("", status=429, headers={"Retry-After": "7"})
    httpserver.expect_request("/d").respond_with_data(
        "", status=503, headers={"Retry-After": "Sun, 01 Mar 2026 12:05:00 GMT"}
    )
    httpserver.expect_request("/none").respond_with_data("", status=503)
    with HttpClient() as client:
        assert retry_after(client.request("GET", httpserver.url_for("/s")), NOW) == NOW + (
            timedelta(seconds=7)
        )
        assert retry_after(client.request("GET", httpserver.url_for("/d")), NOW) == NOW + (
            timedelta(minutes=5)
        )
        assert retry_after(client.request("GET", httpserver.url_for("/none")), NOW) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, RateLimited),
        (408, TransientError),
        (502, TransientError),
        (401, AuthError),
        (403, AuthError),
        (400, PermanentError),
        (404, PermanentError),
    ],
)
def test_raise_for_platform_types_statuses(
    httpserver: HTTPServer, status: int, expected: type[Exception]
) -> None:
    """Each HTTP status maps to the error class the run engine acts on."""
    httpserver.expect_request("/x").respond_with_data("nope", status=status)
    with HttpClient() as client:
        response = client.request("GET", httpserver.url_for("/x"))
        with pytest.raises(expected) as info:
            raise_for_platform(response, platform="test", now=NOW)
    assert type(info.value) is expected


def test_raise_for_platform_keeps_redacted_body_and_retry_at(httpserver: HTTPServer) -> None:
    """The raw body is kept without secrets, and Retry-After becomes retry_at."""
    httpserver.expect_request("/x").respond_with_data(
        '{"error": "slow down", "access_token": "leaky-token-1"}',
        status=429,
        headers={"Retry-After": "30"},
    )
    with HttpClient() as client:
        response = client.request("GET", httpserver.url_for("/x"))
    with pytest.raises(RateLimited) as info:
        raise_for_platform(response, platform="test", now=NOW)
    assert "slow down" in info.value.raw
    assert "leaky-token-1" not in info.value.raw
    assert info.value.retry_at == NOW + timedelta(seconds=30)


def test_upload_streams_a_file_slice(httpserver: HTTPServer, tmp_path: Path) -> None:
    """upload() sends exactly the requested slice with a Content-Length, not chunked."""
    payload = bytes(range(256)) * 8192  # 2 MiB
    video = tmp_path / "v.bin"
    video.write_bytes(payload)
    seen: dict[str, str] = {}

    def handler(request: Request) -> Response:
        body = request.get_data()
        seen["sha"] = hashlib.sha256(body).hexdigest()
        seen["length"] = request.headers.get("Content-Length", "")
        seen["te"] = request.headers.get("Transfer-Encoding", "")
        return Response("ok")

    httpserver.expect_request("/up", method="PUT").respond_with_handler(handler)
    with HttpClient() as client, video.open("rb") as handle:
        part = 1_000_000
        response = client.upload(
            "PUT", httpserver.url_for("/up"), file_chunks(handle, 5, part, block=65536), part
        )
    assert response.status_code == 200
    assert seen["length"] == str(part)
    assert seen["te"] == ""
    assert seen["sha"] == hashlib.sha256(payload[5 : 5 + part]).hexdigest()


def test_file_chunks_refuses_a_file_that_got_shorter(tmp_path: Path) -> None:
    """A slice past the end of the file is a PermanentError, never a short body."""
    video = tmp_path / "v.bin"
    video.write_bytes(b"x" * 10)
    with video.open("rb") as handle, pytest.raises(PermanentError):
        list(file_chunks(handle, 0, 20))


def test_connect_failure_is_not_delivered() -> None:
    """A refused connection is a NetworkError that certainly never reached the server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with HttpClient(timeout=5) as client, pytest.raises(NetworkError) as info:
        client.request("GET", f"http://127.0.0.1:{port}/x?access_token=sekrit-value")
    assert info.value.maybe_delivered is False
    assert "sekrit-value" not in str(info.value)
    assert isinstance(info.value, TransientError)


def test_dropped_connection_may_have_been_delivered() -> None:
    """A server that reads the request then hangs up gives a maybe-delivered NetworkError,
    whose message carries no token from the headers or the query."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with HttpClient(timeout=5) as client, pytest.raises(NetworkError) as info:
            client.request(
                "POST",
                f"http://127.0.0.1:{port}/x?upload_id=1&access_token=qtok-123",
                headers={"Authorization": "Bearer htok-456789"},
                secrets=["htok-456789"],
            )
    finally:
        thread.join(5)
        server.close()
    assert info.value.maybe_delivered is True
    assert "qtok-123" not in str(info.value)
    assert "htok-456789" not in str(info.value)
