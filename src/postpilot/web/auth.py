"""Who may use the dashboard: the access token, the login cookie, CSRF, and the headers every
response carries.

The token is generated on first start at <project>/.postpilot/serve.token (mode 0600) and is
only ever read from that file or the printed login link; no page or API answer contains it.
A browser exchanges the link's token once at /login for an HttpOnly, SameSite=Strict cookie
whose value is an HMAC of the token (so deleting the file and restarting logs everyone out).
Scripts send `Authorization: Bearer <token>` instead.

Unsafe methods authenticated by the cookie also need the X-CSRF-Token header (an HMAC of the
token the page reads from /api/session) and, when the browser sends one, a same-origin Origin:
the cookie is SameSite=Strict already, the header makes a forged form post fail even from a
same-site page. Bearer requests are not sent by browsers on their own, so they need neither.
The Host header must name the address the dashboard was started on (DNS rebinding).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from postpilot.errors import PostpilotError

log = logging.getLogger("postpilot.web")

TOKEN_FILE = "serve.token"  # noqa: S105 - a file name, not a secret
COOKIE = "postpilot_session"
CSRF_HEADER = "x-csrf-token"
#: Paths served without a token: the login exchange itself.
PUBLIC_PATHS = frozenset({"/login"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TokenFileInvalid(PostpilotError):
    """The token file exists but holds no usable token."""


def token_path(root: Path) -> Path:
    """Where the project's dashboard token lives."""
    return root / ".postpilot" / TOKEN_FILE


def load_or_create_token(root: Path) -> str:
    """The project's access token, created (mode 0600) when absent. A token file readable by
    others is tightened to 0600 with a warning rather than trusted as it is."""
    path = token_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        token = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        return token
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); set to 0600", path, mode)
        path.chmod(0o600)
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < 32:
        raise TokenFileInvalid(
            f"{path} holds no usable token (too short)\n"
            "  Delete it and start again to generate a new one"
        )
    return token


@dataclass(frozen=True)
class Credentials:
    """The token and the values derived from it."""

    token: str

    def _derive(self, purpose: str) -> str:
        return hmac.new(self.token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def session(self) -> str:
        """The login cookie's value."""
        return self._derive("postpilot-dashboard-session-v1")

    @property
    def csrf(self) -> str:
        """The value unsafe cookie-authenticated requests send in X-CSRF-Token."""
        return self._derive("postpilot-dashboard-csrf-v1")

    def token_matches(self, candidate: str) -> bool:
        """Constant-time comparison with the token."""
        return hmac.compare_digest(candidate.encode(), self.token.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def auth_method(scope: Scope, creds: Credentials) -> str:
    """ "bearer", "cookie", or "" when the request carries no valid credential."""
    headers = _headers(scope)
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return "bearer" if creds.token_matches(authorization[7:].strip()) else ""
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is just no credential
        return ""
    morsel = cookie.get(COOKIE)
    if morsel is not None and hmac.compare_digest(morsel.value.encode(), creds.session.encode()):
        return "cookie"
    return ""


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class Guard:
    """ASGI middleware: security headers on every response, Host check, token check, CSRF."""

    def __init__(
        self,
        app: ASGIApp,
        creds: Credentials,
        allowed_hosts: frozenset[str],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.creds = creds
        self.allowed_hosts = allowed_hosts
        self._on_close = on_close

    def close(self) -> None:
        """Release what the application keeps between requests (once the server stopped)."""
        if self._on_close is not None:
            self._on_close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if headers.get("host", "") not in self.allowed_hosts:
            await _send_json(send, 421, {"error": "unknown Host header; use the printed link"})
            return
        path: str = scope["path"]
        if path not in PUBLIC_PATHS:
            method = auth_method(scope, self.creds)
            if not method:
                await _send_json(
                    send,
                    401,
                    {
                        "error": "not logged in: open the login link postpilot --serve printed, "
                        "or send Authorization: Bearer <token from .postpilot/serve.token>"
                    },
                )
                return
            scope.setdefault("state", {})["auth"] = method
            if method == "cookie" and scope["method"] not in SAFE_METHODS:
                problem = self._csrf_problem(headers)
                if problem:
                    await _send_json(send, 403, {"error": problem})
                    return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _csrf_problem(self, headers: dict[str, str]) -> str:
        sent = headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.creds.csrf.encode()):
            return "missing or wrong X-CSRF-Token header (reload the page)"
        origin = headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] not in self.allowed_hosts:
            return "cross-origin request refused"
        return ""
