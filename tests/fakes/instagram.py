"""A local fake of the Instagram Graph API for Reels (reference A2.8), served over real HTTP.

`FakeInstagram().start()` serves, on 127.0.0.1, both the Graph host and the rupload host:

    POST /{ver}/{ig_user}/media                      create a REELS container
    GET  /{ver}/{ig_user}/media                      recent media (newest first)
    POST /ig-api-upload/{ver}/{container}            resumable upload (offset, file_size)
    GET  /{ver}/{id}?fields=...                      container status, or a media's permalink
    POST /{ver}/{ig_user}/media_publish              publish a FINISHED container
    GET  /{ver}/{ig_user}/content_publishing_limit   quota_usage / config
    GET  /refresh_access_token                       Instagram Login long-lived token refresh
    GET  /{ver}/oauth/access_token                   Facebook Login fb_exchange_token

It is a state machine: containers go IN_PROGRESS -> (upload complete, N polls) -> FINISHED |
ERROR | EXPIRED (24 virtual hours) -> PUBLISHED; publishing counts against a rolling 24 h quota;
400 containers per 24 h. Uploads are hashed and counted, never buffered. Time is virtual
(`advance()`), so token age and expiry are testable. Fault knobs: `fail_next` (any Graph error
envelope or raw HTTP status), `drop_next` (connection cut, mid-upload when `after_bytes`),
`lose_publish_response` (the post is created, the answer is lost), `next_container` (ERROR /
EXPIRED outcomes), quota settings, token expiry/revocation. `published_count()` counts posts.
For the fault suite: `fault_after(route, After.X, every)` loses, fails (500) or hangs the answer
of every n-th "create" or "publish" after the container or post was recorded, and
`single_use_containers=False` makes a second media_publish of a container create a second post
(the fake then never deduplicates on the caller's behalf).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.after_fault import After, AfterFaults
from tests.fakes.http_server import FakeHandler, ServedFake

VERSION = "v21.0"
DAY = 86400
#: Block size for reading upload bodies: uploads are streamed through a hash, never kept.
READ_BLOCK = 256 * 1024
LONG_LIVED_SECONDS = 5_184_000


@dataclass
class Container:
    """One media container."""

    id: str
    ig_user: str
    upload_type: str
    caption: str
    share_to_feed: str
    video_url: str
    created_at: float
    status_code: str = "IN_PROGRESS"
    status: str = ""
    file_size: int = 0
    received: int = 0
    uploaded: bool = False
    sha256: str = ""
    polls_left: int = 1
    outcome: str = "FINISHED"
    error_status: str = ""
    media_id: str = ""
    hasher: Any = None
    uploads: int = 0


@dataclass
class Media:
    """One published media."""

    id: str
    ig_user: str
    container_id: str
    caption: str
    timestamp: float
    permalink: str


@dataclass
class Token:
    """An access token the fake accepts."""

    value: str
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class Fault:
    """One injected misbehaviour for the next request to a route."""

    kind: str  # "error" (envelope), "http" (raw status), "drop"
    status: int = 400
    body: Mapping[str, Any] | str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    after_bytes: int = 0


@dataclass
class Account:
    """Per-IG-user quota state."""

    quota_total: int = 100
    #: Posts counted in the window that were not made through this fake (seeded usage).
    extra_usage: int = 0
    publishes: list[float] = field(default_factory=list)


_ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("POST", "upload", re.compile(r"^/ig-api-upload/(?P<ver>[^/]+)/(?P<id>[^/]+)$")),
    ("GET", "refresh", re.compile(r"^/refresh_access_token$")),
    ("GET", "exchange", re.compile(r"^/(?P<ver>v[^/]+)/oauth/access_token$")),
    ("POST", "create", re.compile(r"^/(?P<ver>v[^/]+)/(?P<user>[^/]+)/media$")),
    ("GET", "media_list", re.compile(r"^/(?P<ver>v[^/]+)/(?P<user>[^/]+)/media$")),
    ("POST", "publish", re.compile(r"^/(?P<ver>v[^/]+)/(?P<user>[^/]+)/media_publish$")),
    (
        "GET",
        "limit",
        re.compile(r"^/(?P<ver>v[^/]+)/(?P<user>[^/]+)/content_publishing_limit$"),
    ),
    ("GET", "node", re.compile(r"^/(?P<ver>v[^/]+)/(?P<id>[^/]+)$")),
)


def envelope(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    is_transient: bool = False,
    kind: str = "OAuthException",
) -> dict[str, Any]:
    """A Graph API error body."""
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "is_transient": is_transient,
        "fbtrace_id": "AbCdEfFakeTrace",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


class FakeInstagram(ServedFake):
    """The fake Graph API (see the module docstring). Thread-safe; one lock guards all state."""

    def __init__(
        self,
        *,
        version: str = VERSION,
        polls_to_finish: int = 1,
        single_use_containers: bool = True,
    ) -> None:
        super().__init__()
        self.version = version
        self.single_use_containers = single_use_containers
        self.after = AfterFaults()
        #: The 500 body of an After.ERROR fault (Graph's generic transient error by default).
        self.after_error: dict[str, Any] = envelope(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            is_transient=True,
        )
        self.polls_to_finish = polls_to_finish
        self._ids = itertools.count(17_841_000_000_000_001)
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.tokens: dict[str, Token] = {}
        self.accounts: dict[str, Account] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._lose_publish = 0
        self._hooks: dict[str, list[Callable[[], None]]] = {}
        self._next_outcomes: list[tuple[str, str, int | None]] = []
        #: (method, route, path without query) of every request, in order.
        self.requests: list[tuple[str, str, str]] = []
        #: Every header set seen, to prove no token travels in a URL.
        self.seen_queries: list[str] = []
        self.buc_usage: dict[str, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """The Graph base URL with the version, as a publisher's `api_base`."""
        return f"{self.url}/{self.version}"

    # -- set-up and knobs ------------------------------------------------------------------

    def add_token(
        self, value: str, *, age_seconds: float = 2 * DAY, expires_in: float = 50 * DAY
    ) -> None:
        """Accept `value` as a long-lived token issued `age_seconds` ago."""
        now = self.now()
        with self._lock:
            self.tokens[value] = Token(value, now - age_seconds, now + expires_in)

    def expire_token(self, value: str) -> None:
        """Make `value` expired (code 190 / subcode 463 from now on; not refreshable)."""
        with self._lock:
            self.tokens[value].expires_at = self.now() - 1

    def revoke_token(self, value: str) -> None:
        """Make `value` invalid (code 190 / subcode 460, e.g. the password changed)."""
        with self._lock:
            self.tokens[value].revoked = True

    def set_quota(self, ig_user: str, *, total: int = 100, usage: int = 0) -> None:
        """The account's publishing limit and usage already spent in the window."""
        with self._lock:
            account = self.accounts.setdefault(ig_user, Account())
            account.quota_total = total
            account.extra_usage = usage

    def fail_next(
        self,
        route: str,
        code: int | None = None,
        *,
        subcode: int | None = None,
        message: str = "injected error",
        is_transient: bool = False,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        raw: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests to `route` answer `status` with a Graph error envelope
        (or the `raw` body when given, e.g. an HTML 503 page)."""
        body: Mapping[str, Any] | str
        if raw is not None or code is None:
            body = raw or ""
            kind = "http"
        else:
            body = envelope(code, message, subcode=subcode, is_transient=is_transient)
            kind = "error"
        fault = Fault(kind, status, body, dict(headers or {}))
        with self._lock:
            self._faults.setdefault(route, []).extend([fault] * times)

    def drop_next(self, route: str, *, after_bytes: int = 0, times: int = 1) -> None:
        """Cut the connection of the next request to `route` without answering (for an upload,
        after reading `after_bytes` of its body)."""
        with self._lock:
            self._faults.setdefault(route, []).extend(
                [Fault("drop", after_bytes=after_bytes)] * times
            )

    def on_next(self, route: str, hook: Callable[[], None]) -> None:
        """Run `hook` when the next request to `route` arrives, before it is handled (e.g. to
        play another process that rewrites credentials.json meanwhile)."""
        with self._lock:
            self._hooks.setdefault(route, []).append(hook)

    def lose_publish_response(self, times: int = 1) -> None:
        """The next media_publish creates the post, then the connection drops unanswered."""
        with self._lock:
            self._lose_publish += times

    def next_container(self, outcome: str, *, status: str = "", polls: int | None = None) -> None:
        """The next created container ends `outcome` ("FINISHED", "ERROR", "EXPIRED",
        or "IN_PROGRESS" to never finish) with `status` text, after `polls` status reads."""
        with self._lock:
            self._next_outcomes.append((outcome, status, polls))

    def fault_after(self, route: str, kind: After | Sequence[After], every: int = 5) -> None:
        """Every `every`-th "create" (container) or "publish" (post) request is carried out and
        recorded, then its answer is cut, replaced by a 500 (`after_error`), or hung."""
        with self._lock:
            self.after.arm(route, kind, every)

    def heal(self) -> None:
        """No more fault_after faults; hung answers are released (cut)."""
        self.after.heal()

    def stop(self) -> None:
        """Release hung answers, then stop serving."""
        self.after.heal()
        super().stop()

    # -- assertions ------------------------------------------------------------------------

    def published_count(self, ig_user: str | None = None) -> int:
        """How many posts were published (for `ig_user`, or in total)."""
        with self._lock:
            return sum(1 for m in self.media.values() if ig_user in (None, m.ig_user))

    def count(self, route: str) -> int:
        """How many requests reached `route`."""
        with self._lock:
            return sum(1 for _m, r, _p in self.requests if r == route)

    # -- request handling ------------------------------------------------------------------

    def dispatch(self, handler: FakeHandler, method: str) -> None:
        """Route one request (called on the server's handler threads)."""
        parts = urlsplit(handler.path)
        route, match = "unknown", None
        for route_method, name, pattern in _ROUTES:
            found = pattern.match(parts.path)
            if found and route_method == method:
                route, match = name, found
                break
        with self._lock:
            self.requests.append((method, route, parts.path))
            self.seen_queries.append(parts.query)
            queue = self._faults.get(route) or []
            fault = queue.pop(0) if queue else None
            hooks = self._hooks.get(route) or []
            hook = hooks.pop(0) if hooks else None
        if hook is not None:
            hook()
        if match is None:
            self._reply(handler, 404, envelope(100, f"unknown path {parts.path}"), drain=True)
            return
        if fault is not None and fault.kind == "drop":
            if route == "upload" and fault.after_bytes:
                self._read_some(handler, fault.after_bytes)
            self._drop(handler)
            return
        if fault is not None:
            self._reply(handler, fault.status, fault.body, fault.headers, drain=True)
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if route != "upload":
            params.update(self._form(handler))
        getattr(self, f"_route_{route}")(handler, match.groupdict(), params)

    # -- HTTP plumbing ---------------------------------------------------------------------

    @staticmethod
    def _form(handler: FakeHandler) -> dict[str, str]:
        length = int(handler.headers.get("content-length") or 0)
        if not length:
            return {}
        raw = handler.rfile.read(length).decode("utf-8")
        if "json" in (handler.headers.get("content-type") or ""):
            value = json.loads(raw or "{}")
            return {str(k): str(v) for k, v in value.items()}
        return dict(parse_qsl(raw, keep_blank_values=True))

    @staticmethod
    def _read_some(handler: FakeHandler, limit: int) -> int:
        length = int(handler.headers.get("content-length") or 0)
        left = min(limit, length)
        while left > 0:
            data = handler.rfile.read(min(READ_BLOCK, left))
            if not data:
                break
            left -= len(data)
        return min(limit, length) - left

    @staticmethod
    def _drop(handler: FakeHandler) -> None:
        handler.close_connection = True
        handler.wfile.flush()
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    def _reply(
        self,
        handler: FakeHandler,
        status: int,
        body: Mapping[str, Any] | str,
        headers: Mapping[str, str] | None = None,
        *,
        drain: bool = False,
    ) -> None:
        if drain and int(handler.headers.get("content-length") or 0):
            # An unread request body would corrupt the next request on this connection.
            handler.close_connection = True
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        handler.send_response(status)
        handler.send_header(
            "Content-Type", "text/html" if isinstance(body, str) else "application/json"
        )
        handler.send_header("Content-Length", str(len(data)))
        if self.buc_usage is not None:
            handler.send_header("X-Business-Use-Case-Usage", json.dumps(self.buc_usage))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)

    def _token_error(
        self, handler: FakeHandler, params: Mapping[str, str]
    ) -> dict[str, Any] | None:
        auth = handler.headers.get("authorization") or ""
        scheme, _, value = auth.partition(" ")
        token = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
        token = token or params.get("access_token", "")
        with self._lock:
            known = self.tokens.get(token)
            now = self.now()
            if known is None:
                return envelope(190, "Invalid OAuth access token - Cannot parse access token")
            if known.revoked:
                return envelope(190, "Error validating access token: session invalid", subcode=460)
            if known.expires_at <= now:
                return envelope(
                    190, "Error validating access token: Session has expired", subcode=463
                )
        return None

    def _authed(self, handler: FakeHandler, params: Mapping[str, str]) -> bool:
        error = self._token_error(handler, params)
        if error is not None:
            self._reply(handler, 400, error, drain=True)
            return False
        return True

    # -- routes ----------------------------------------------------------------------------

    def _account(self, ig_user: str) -> Account:
        return self.accounts.setdefault(ig_user, Account())

    def _usage(self, account: Account, now: float) -> int:
        return account.extra_usage + sum(1 for t in account.publishes if t > now - DAY)

    def _route_create(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if not self._authed(handler, p):
            return
        user = m["user"]
        if p.get("media_type") != "REELS":
            self._reply(handler, 400, envelope(100, "media_type must be REELS", subcode=2207089))
            return
        resumable = p.get("upload_type") == "resumable"
        if resumable == bool(p.get("video_url")):
            self._reply(
                handler, 400, envelope(100, "The parameter video_url is required", subcode=33)
            )
            return
        with self._lock:
            now = self.now()
            recent = sum(
                1
                for c in self.containers.values()
                if c.ig_user == user and c.created_at > now - DAY
            )
            if recent >= 400:
                body = envelope(4, "Application request limit reached: 400 containers in 24 h")
                self._reply(handler, 400, body)
                return
            outcome, status, polls = (
                self._next_outcomes.pop(0) if self._next_outcomes else ("FINISHED", "", None)
            )
            cid = str(next(self._ids))
            container = Container(
                id=cid,
                ig_user=user,
                upload_type="resumable" if resumable else "video_url",
                caption=p.get("caption", ""),
                share_to_feed=p.get("share_to_feed", ""),
                video_url=p.get("video_url", ""),
                created_at=now,
                polls_left=self.polls_to_finish if polls is None else polls,
                outcome=outcome,
                error_status=status,
            )
            # Meta fetches a video_url by itself: the container is as good as uploaded.
            container.uploaded = not resumable
            self.containers[cid] = container
            fault = self.after.pick("create", cid)
        if fault is not None:
            self.after.apply(fault, handler, lambda: self._reply(handler, 500, self.after_error))
            return
        body: dict[str, Any] = {"id": cid}
        if resumable:
            body["uri"] = f"{self.url}/ig-api-upload/{m['ver']}/{cid}"
        self._reply(handler, 200, body)

    def _route_upload(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        auth = handler.headers.get("authorization") or ""
        if not auth.startswith("OAuth "):
            body = {"debug_info": {"retriable": False, "message": "Authorization: OAuth missing"}}
            self._reply(handler, 401, body, drain=True)
            return
        if not self._authed(handler, {}):
            return
        try:
            offset = int(handler.headers["offset"])
            file_size = int(handler.headers["file_size"])
        except (KeyError, TypeError, ValueError):
            body = {"debug_info": {"retriable": False, "message": "offset and file_size needed"}}
            self._reply(handler, 400, body, drain=True)
            return
        with self._lock:
            container = self.containers.get(m["id"])
        if container is None or container.upload_type != "resumable":
            self._reply(handler, 404, {"debug_info": {"message": "no such upload"}}, drain=True)
            return
        if handler.headers.get("file_url"):
            with self._lock:
                container.file_size = container.received = file_size
                container.uploaded = True
            self._reply(handler, 200, {"success": True, "message": "Upload successful."})
            return
        length = int(handler.headers.get("content-length") or -1)
        with self._lock:
            restart = offset == 0
            if not restart and (offset != container.received or file_size != container.file_size):
                body = {"debug_info": {"retriable": False, "message": "offset mismatch"}}
                self._reply(handler, 400, body, drain=True)
                return
            if length < 0 or offset + length > file_size:
                body = {"debug_info": {"retriable": False, "message": "bad content length"}}
                self._reply(handler, 400, body, drain=True)
                return
            if restart:
                container.hasher = hashlib.sha256()
                container.received = 0
                container.file_size = file_size
            container.uploads += 1
            hasher = container.hasher
        left = length
        while left > 0:
            data = handler.rfile.read(min(READ_BLOCK, left))
            if not data:
                handler.close_connection = True
                return
            hasher.update(data)
            left -= len(data)
            with self._lock:
                container.received += len(data)
        with self._lock:
            if container.received == container.file_size:
                container.uploaded = True
                container.sha256 = hasher.hexdigest()
        self._reply(handler, 200, {"success": True, "message": "Upload successful."})

    def _route_node(self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]) -> None:
        if not self._authed(handler, p):
            return
        node = m["id"]
        with self._lock:
            container = self.containers.get(node)
            media = self.media.get(node)
            if container is not None:
                self._advance_container(container)
                body: dict[str, Any] = {
                    "id": node,
                    "status_code": container.status_code,
                    "status": container.status,
                }
            elif media is not None:
                body = {
                    "id": node,
                    "permalink": media.permalink,
                    "media_product_type": "REELS",
                    "media_type": "VIDEO",
                }
            else:
                body = {}
        if not body:
            self._reply(handler, 400, envelope(100, "Unsupported get request", subcode=33))
            return
        self._reply(handler, 200, body)

    def _advance_container(self, c: Container) -> None:
        """One status read: progress the container's scripted life (lock held)."""
        if c.status_code == "PUBLISHED":
            return
        if c.status_code in ("IN_PROGRESS", "FINISHED") and self.now() - c.created_at > DAY:
            c.status_code, c.status = "EXPIRED", "Media expired: not published within 24 hours"
            return
        if c.status_code != "IN_PROGRESS" or not c.uploaded or c.outcome == "IN_PROGRESS":
            return
        if c.polls_left > 0:
            c.polls_left -= 1
            return
        c.status_code = c.outcome
        if c.outcome == "ERROR":
            c.status = c.error_status or "Error: 2207026: unsupported video format"
        elif c.outcome == "EXPIRED":
            c.status = c.error_status or "Media expired: not published within 24 hours"

    def _route_publish(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if not self._authed(handler, p):
            return
        user, cid = m["user"], p.get("creation_id", "")
        lose, media_id, fault = False, "", None
        with self._lock:
            container = self.containers.get(cid)
            account = self._account(user)
            now = self.now()
            if container is None or container.ig_user != user:
                error = envelope(100, "Media ID is not available", subcode=2207006)
            elif container.status_code == "PUBLISHED" and self.single_use_containers:
                error = envelope(100, "The media has already been published")
            elif container.status_code not in ("FINISHED", "PUBLISHED"):
                error = envelope(9007, "Media ID is not ready for publishing", subcode=2207027)
            elif self._usage(account, now) >= account.quota_total:
                error = envelope(
                    9, "Application request limit reached: maximum number of posts", subcode=2207042
                )
            else:
                error = {}
                media_id = str(next(self._ids))
                container.status_code, container.media_id = "PUBLISHED", media_id
                account.publishes.append(now)
                self.media[media_id] = Media(
                    media_id,
                    user,
                    cid,
                    container.caption,
                    now,
                    f"https://www.instagram.com/reel/FAKE{media_id[-8:]}/",
                )
                lose = self._lose_publish > 0
                if lose:
                    self._lose_publish -= 1
                fault = self.after.pick("publish", cid)
        if error:
            self._reply(handler, 400, error)
            return
        if fault is not None:
            self.after.apply(fault, handler, lambda: self._reply(handler, 500, self.after_error))
            return
        if lose:
            self._drop(handler)
            return
        self._reply(handler, 200, {"id": media_id})

    def _route_limit(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if not self._authed(handler, p):
            return
        with self._lock:
            account = self._account(m["user"])
            usage = self._usage(account, self.now())
            body = {
                "data": [
                    {
                        "quota_usage": usage,
                        "config": {"quota_total": account.quota_total, "quota_duration": DAY},
                    }
                ]
            }
        self._reply(handler, 200, body)

    def _route_media_list(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if not self._authed(handler, p):
            return
        since = float(p.get("since") or 0)
        limit = int(p.get("limit") or 25)
        with self._lock:
            items = sorted(
                (x for x in self.media.values() if x.ig_user == m["user"] and x.timestamp >= since),
                key=lambda x: x.timestamp,
                reverse=True,
            )[:limit]
            data = [
                {
                    "id": x.id,
                    "caption": x.caption,
                    "media_product_type": "REELS",
                    "permalink": x.permalink,
                    "timestamp": datetime.fromtimestamp(x.timestamp, UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S+0000"
                    ),
                }
                for x in items
            ]
        self._reply(handler, 200, {"data": data})

    def _issue(self) -> dict[str, Any]:
        """A new long-lived token (lock held); the token it refreshes is left as it was."""
        new = f"IGFAKE{next(self._ids)}"
        now = self.now()
        self.tokens[new] = Token(new, now, now + LONG_LIVED_SECONDS)
        return {"access_token": new, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    def _route_refresh(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if p.get("grant_type") != "ig_refresh_token":
            self._reply(handler, 400, envelope(100, "grant_type must be ig_refresh_token"))
            return
        with self._lock:
            token = self.tokens.get(p.get("access_token", ""))
            now = self.now()
            if token is None or token.revoked or token.expires_at <= now:
                error: dict[str, Any] = envelope(190, "Error validating access token", subcode=463)
            elif now - token.issued_at < DAY:
                error = envelope(
                    100, "The access token must be at least 24 hours old to be refreshed"
                )
            else:
                error = {}
                body = self._issue()
        self._reply(handler, 400 if error else 200, error or body)

    def _route_exchange(
        self, handler: FakeHandler, m: Mapping[str, str], p: Mapping[str, str]
    ) -> None:
        if p.get("grant_type") != "fb_exchange_token" or not p.get("client_secret"):
            self._reply(handler, 400, envelope(100, "grant_type/client_secret missing"))
            return
        with self._lock:
            token = self.tokens.get(p.get("fb_exchange_token", ""))
            if token is None or token.revoked or token.expires_at <= self.now():
                error: dict[str, Any] = envelope(190, "Error validating access token", subcode=463)
            else:
                error = {}
                body = self._issue()
        self._reply(handler, 400 if error else 200, error or body)
