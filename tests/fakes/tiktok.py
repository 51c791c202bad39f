"""A local fake of TikTok's Content Posting API (reference A3.8), served over real HTTP.

`FakeTikTok().start()` serves on 127.0.0.1:

    POST /v2/post/publish/creator_info/query/    privacy options, max duration (20/min/token)
    POST /v2/post/publish/video/init/            Direct Post init (6/min/token)
    POST /v2/post/publish/inbox/video/init/      upload-to-inbox init (6/min/token)
    PUT  /upload/<task>                          chunk upload (Content-Range, sequential)
    POST /v2/post/publish/status/fetch/          publish status (30/min/token)
    POST /v2/oauth/token/                        refresh_token grant with ROTATING refresh tokens

It is a state machine. Init validates the chunk arithmetic exactly as the media transfer guide
states it (total_chunk_count = floor(video_size / chunk_size); chunks 5-64 MiB, the last one
absorbing the remainder up to 128 MiB; under 5 MiB one whole chunk; over 64 MiB at least two;
1-1000 chunks). PUTs must be sequential (416 otherwise), match the announced chunk exactly
(400), arrive within the upload URL's virtual hour (403), and are hashed and counted, never
kept. A task goes PROCESSING_UPLOAD -> (N status reads) -> PUBLISH_COMPLETE (direct) |
SEND_TO_USER_INBOX (inbox) | FAILED(fail_reason). Knobs: `fail_next` (any error code/status),
`drop_next` (connection cut, mid-chunk when `after_bytes`), `lose_final_put_response` (upload
completes, answer lost), `next_publish` (FAILED / never finishing), `daily_cap`, `unaudited`,
per-minute rate limits, token expiry. `published_count()` counts posts per creator.
For the fault suite: `fault_after(route, After.X, every)` loses, fails (500) or hangs the answer
of every n-th "init" (after the task is created), "put" (the final chunk, after the upload is
complete and journaled in `uploads`: the post goes ahead) or "status" (the first status read of
an uploaded task). Every complete upload is a post: nothing is deduplicated.
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
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.after_fault import After, AfterFaults
from tests.fakes.http_server import FakeHandler, ServedFake

MIB = 1024 * 1024
MIN_CHUNK = 5 * MIB
MAX_CHUNK = 64 * MIB
MAX_LAST_CHUNK = 128 * MIB
MAX_CHUNKS = 1000
UPLOAD_TTL = 3600.0
READ_BLOCK = 256 * 1024
ACCESS_TTL = 7200
REFRESH_TTL = 180 * 86400
MIME_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
PUBLIC_OPTIONS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
#: Requests per minute per token (reference A3.2, A3.3, A3.5).
RATE_LIMITS = {"creator_info": 20, "init": 6, "inbox_init": 6, "status": 30}


def chunk_plan_error(video_size: int, chunk_size: int, total: int) -> str:
    """Why TikTok would refuse this source_info ("" when it is valid)."""
    if video_size <= 0 or chunk_size <= 0:
        return "video_size and chunk_size must be positive"
    if not 1 <= total <= MAX_CHUNKS:
        return f"total_chunk_count must be 1-{MAX_CHUNKS}"
    if video_size < MIN_CHUNK:
        if chunk_size != video_size or total != 1:
            return "a video under 5 MB must be uploaded whole (chunk_size = video_size)"
        return ""
    if total != video_size // chunk_size:
        return "total_chunk_count must be floor(video_size / chunk_size)"
    if chunk_size < MIN_CHUNK or chunk_size > MAX_CHUNK:
        return "chunk_size must be between 5 MB and 64 MB"
    if video_size > MAX_CHUNK and total < 2:
        return "a video over 64 MB must be uploaded in chunks"
    if video_size - (total - 1) * chunk_size > MAX_LAST_CHUNK:
        return "the final chunk may not exceed 128 MB"
    return ""


@dataclass
class Creator:
    """One TikTok user (open_id) and what creator_info says about them."""

    open_id: str
    username: str
    privacy_level_options: list[str] = field(default_factory=lambda: list(PUBLIC_OPTIONS))
    max_video_post_duration_sec: int = 600
    #: Posts allowed per 24 h before spam_risk_too_many_posts (None: no cap).
    daily_cap: int | None = None
    posts: list[float] = field(default_factory=list)


@dataclass
class Task:
    """One publish_id."""

    publish_id: str
    open_id: str
    inbox: bool
    video_size: int
    chunk_size: int
    total: int
    created_at: float
    title: str = ""
    privacy_level: str = ""
    received: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    sha256: str = ""
    status: str = "PROCESSING_UPLOAD"
    fail_reason: str = ""
    polls_left: int = 1
    outcome: str = "COMPLETE"
    post_id: str = ""
    puts: int = 0


@dataclass
class Fault:
    """One injected misbehaviour for the next request to a route."""

    kind: str  # "error" | "drop"
    status: int = 400
    body: Mapping[str, Any] | str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    after_bytes: int = 0


_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v2/post/publish/creator_info/query/"): "creator_info",
    ("POST", "/v2/post/publish/video/init/"): "init",
    ("POST", "/v2/post/publish/inbox/video/init/"): "inbox_init",
    ("POST", "/v2/post/publish/status/fetch/"): "status",
    ("POST", "/v2/oauth/token/"): "token",
}
_UPLOAD = re.compile(r"^/upload/(?P<task>[^/]+)$")
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def api_error(code: str, message: str = "") -> dict[str, Any]:
    """A Content Posting API error body."""
    return {"data": {}, "error": {"code": code, "message": message or code, "log_id": "fakelog"}}


def ok(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Content Posting API success body."""
    return {"data": dict(data), "error": {"code": "ok", "message": "", "log_id": "fakelog"}}


class FakeTikTok(ServedFake):
    """The fake Content Posting API (see the module docstring). One lock guards all state."""

    def __init__(self, *, polls_to_finish: int = 1, rate_limits: bool = True) -> None:
        super().__init__()
        self.polls_to_finish = polls_to_finish
        self.rate_limits = rate_limits
        self._ids = itertools.count(7_300_000_000_000_000_001)
        self.creators: dict[str, Creator] = {}
        #: access token -> (open_id, expires_at)
        self.access_tokens: dict[str, tuple[str, float]] = {}
        #: refresh token -> (open_id, client_key); a used one is removed (rotation).
        self.refresh_tokens: dict[str, tuple[str, str]] = {}
        self.tasks: dict[str, Task] = {}
        #: upload path id -> publish_id
        self._task_ids: dict[str, str] = {}
        self.unaudited = False
        self._faults: dict[str, list[Fault]] = {}
        self._hooks: dict[str, list[Callable[[], None]]] = {}
        self._lose_final = 0
        self._next: list[tuple[str, str, int | None]] = []
        self._calls: dict[tuple[str, str], list[float]] = {}
        self.requests: list[tuple[str, str]] = []
        #: (publish_id, first, last, total, status) of every chunk PUT answered.
        self.puts: list[tuple[str, int, int, int, int]] = []
        #: (open_id, sha256, publish_id) of every completed upload, i.e. every post started,
        #: recorded before any fault_after fault is injected.
        self.uploads: list[tuple[str, str, str]] = []
        self.after = AfterFaults()
        self._status_read: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{self.url}/v2/oauth/token/"

    # -- set-up and knobs ------------------------------------------------------------------

    def add_creator(
        self,
        open_id: str,
        access_token: str,
        refresh_token: str = "",
        *,
        client_key: str = "ck",
        username: str = "creator",
        options: list[str] | None = None,
        max_duration: int = 600,
        access_ttl: float = ACCESS_TTL,
    ) -> Creator:
        """A creator with a live access token and (optionally) a refresh token."""
        creator = Creator(open_id, username, list(options or PUBLIC_OPTIONS), max_duration)
        with self._lock:
            self.creators[open_id] = creator
            self.access_tokens[access_token] = (open_id, self.now() + access_ttl)
            if refresh_token:
                self.refresh_tokens[refresh_token] = (open_id, client_key)
        return creator

    def expire_access_token(self, token: str) -> None:
        """`token` answers 401 access_token_invalid from now on."""
        with self._lock:
            open_id, _ = self.access_tokens[token]
            self.access_tokens[token] = (open_id, self.now() - 1)

    def fail_next(
        self,
        route: str,
        code: str = "internal_error",
        *,
        status: int = 500,
        message: str = "",
        headers: Mapping[str, str] | None = None,
        raw: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests to `route` answer `status` with error `code` (or `raw`)."""
        body: Mapping[str, Any] | str = raw if raw is not None else api_error(code, message)
        fault = Fault("error", status, body, dict(headers or {}))
        with self._lock:
            self._faults.setdefault(route, []).extend([fault] * times)

    def drop_next(self, route: str, *, after_bytes: int = 0, times: int = 1) -> None:
        """Cut the next request to `route` unanswered (a PUT after `after_bytes` of its body)."""
        with self._lock:
            self._faults.setdefault(route, []).extend(
                [Fault("drop", after_bytes=after_bytes)] * times
            )

    def on_next(self, route: str, hook: Callable[[], None]) -> None:
        """Run `hook` when the next request to `route` arrives, before it is handled."""
        with self._lock:
            self._hooks.setdefault(route, []).append(hook)

    def lose_final_put_response(self, times: int = 1) -> None:
        """The next final chunk completes the upload (the post goes ahead), then the
        connection drops unanswered."""
        with self._lock:
            self._lose_final += times

    def next_publish(
        self, outcome: str, *, fail_reason: str = "", polls: int | None = None
    ) -> None:
        """The next task ends "COMPLETE", "FAILED" (with `fail_reason`) or "NEVER" (stays
        processing) after `polls` status reads once uploaded."""
        with self._lock:
            self._next.append((outcome, fail_reason, polls))

    def fault_after(self, route: str, kind: After | Sequence[After], every: int = 5) -> None:
        """Every `every`-th "init", final "put" or first "status" of an uploaded task is carried
        out and recorded, then its answer is cut, replaced by a 500, or hung."""
        with self._lock:
            self.after.arm(route, kind, every)

    def heal(self) -> None:
        """No more fault_after faults; hung answers are released (cut)."""
        self.after.heal()

    def stop(self) -> None:
        """Release hung answers, then stop serving."""
        self.after.heal()
        super().stop()

    def _error_500(self, handler: FakeHandler) -> None:
        self._reply(handler, 500, api_error("internal_error", "Something went wrong"))

    # -- assertions ------------------------------------------------------------------------

    def published_count(self, open_id: str | None = None) -> int:
        """Posts that reached PUBLISH_COMPLETE or the inbox (for `open_id`, or in total)."""
        with self._lock:
            return sum(
                1
                for t in self.tasks.values()
                if t.status in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX")
                and open_id in (None, t.open_id)
            )

    def count(self, route: str) -> int:
        """How many requests reached `route`."""
        with self._lock:
            return sum(1 for _m, r in self.requests if r == route)

    # -- request handling ------------------------------------------------------------------

    def dispatch(self, handler: FakeHandler, method: str) -> None:
        """Route one request (called on the server's handler threads)."""
        parts = urlsplit(handler.path)
        route = _ROUTES.get((method, parts.path), "")
        task_id = ""
        if not route and method == "PUT" and (found := _UPLOAD.match(parts.path)):
            route, task_id = "put", found["task"]
        with self._lock:
            self.requests.append((method, route or parts.path))
            queue = self._faults.get(route) or []
            fault = queue.pop(0) if queue else None
            hooks = self._hooks.get(route) or []
            hook = hooks.pop(0) if hooks else None
        if hook is not None:
            hook()
        if not route:
            self._reply(handler, 404, api_error("not_found", parts.path), drain=True)
            return
        if fault is not None and fault.kind == "drop":
            if fault.after_bytes:
                self._read_some(handler, fault.after_bytes)
            self._drop(handler)
            return
        if fault is not None:
            self._reply(handler, fault.status, fault.body, fault.headers, drain=True)
            return
        if route == "put":
            self._route_put(handler, task_id, dict(parse_qsl(parts.query)))
            return
        if route == "token":
            self._route_token(handler, self._body(handler))
            return
        open_id = self._auth(handler, route)
        if open_id is None:
            return
        getattr(self, f"_route_{route}")(handler, open_id, self._body(handler))

    @staticmethod
    def _body(handler: FakeHandler) -> dict[str, Any]:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        if "json" in (handler.headers.get("content-type") or ""):
            value = json.loads(raw or "{}")
            return value if isinstance(value, dict) else {}
        return dict(parse_qsl(raw, keep_blank_values=True))

    @staticmethod
    def _read_some(handler: FakeHandler, limit: int) -> None:
        left = min(limit, int(handler.headers.get("content-length") or 0))
        while left > 0:
            data = handler.rfile.read(min(READ_BLOCK, left))
            if not data:
                return
            left -= len(data)

    @staticmethod
    def _drop(handler: FakeHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _reply(
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
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)

    def _auth(self, handler: FakeHandler, route: str) -> str | None:
        auth = handler.headers.get("authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with self._lock:
            entry = self.access_tokens.get(token)
            now = self.now()
            if entry is None or entry[1] <= now:
                error = api_error("access_token_invalid", "The access token is invalid or expired")
                status = 401
            elif self.rate_limits and route in RATE_LIMITS and self._over_rate(token, route, now):
                error = api_error("rate_limit_exceeded", "API rate limit exceeded")
                status = 429
            else:
                return entry[0]
        self._reply(handler, status, error, drain=True)
        return None

    def _over_rate(self, token: str, route: str, now: float) -> bool:
        """Count the call; True when the token used its per-minute budget (lock held)."""
        calls = [t for t in self._calls.get((token, route), []) if t > now - 60]
        over = len(calls) >= RATE_LIMITS[route]
        if not over:
            calls.append(now)
        self._calls[(token, route)] = calls
        return over

    def _capped(self, creator: Creator, now: float) -> bool:
        recent = [t for t in creator.posts if t > now - 86400]
        return creator.daily_cap is not None and len(recent) >= creator.daily_cap

    # -- routes ----------------------------------------------------------------------------

    def _route_creator_info(
        self, handler: FakeHandler, open_id: str, body: Mapping[str, Any]
    ) -> None:
        with self._lock:
            creator = self.creators[open_id]
            if self._capped(creator, self.now()):
                error = api_error("spam_risk_too_many_posts", "daily post cap reached")
            else:
                error = {}
                options = ["SELF_ONLY"] if self.unaudited else creator.privacy_level_options
                data = {
                    "creator_avatar_url": "https://p16.example/avatar.jpg",
                    "creator_username": creator.username,
                    "creator_nickname": creator.username.title(),
                    "privacy_level_options": options,
                    "comment_disabled": False,
                    "duet_disabled": False,
                    "stitch_disabled": True,
                    "max_video_post_duration_sec": creator.max_video_post_duration_sec,
                }
        if error:
            self._reply(handler, 403, error)
            return
        self._reply(handler, 200, ok(data))

    def _route_init(self, handler: FakeHandler, open_id: str, body: Mapping[str, Any]) -> None:
        self._init(handler, open_id, body, inbox=False)

    def _route_inbox_init(
        self, handler: FakeHandler, open_id: str, body: Mapping[str, Any]
    ) -> None:
        self._init(handler, open_id, body, inbox=True)

    def _init(
        self, handler: FakeHandler, open_id: str, body: Mapping[str, Any], *, inbox: bool
    ) -> None:
        source = body.get("source_info") if isinstance(body.get("source_info"), dict) else {}
        post = body.get("post_info") if isinstance(body.get("post_info"), dict) else {}
        assert isinstance(source, dict)
        assert isinstance(post, dict)
        try:
            size = int(source["video_size"])
            chunk = int(source["chunk_size"])
            total = int(source["total_chunk_count"])
        except (KeyError, TypeError, ValueError):
            self._reply(handler, 400, api_error("invalid_params", "source_info incomplete"))
            return
        if source.get("source") != "FILE_UPLOAD":
            self._reply(handler, 400, api_error("invalid_params", "source must be FILE_UPLOAD"))
            return
        problem = chunk_plan_error(size, chunk, total)
        if problem:
            self._reply(handler, 400, api_error("invalid_params", problem))
            return
        task_id = publish_id = ""
        fault: After | None = None
        with self._lock:
            creator = self.creators[open_id]
            now = self.now()
            status, error = 200, {}
            privacy = str(post.get("privacy_level", ""))
            options = ["SELF_ONLY"] if self.unaudited else creator.privacy_level_options
            if self._capped(creator, now):
                status, error = 403, api_error("spam_risk_too_many_posts")
            elif not inbox and self.unaudited and privacy != "SELF_ONLY":
                status, error = 403, api_error("unaudited_client_can_only_post_to_private_accounts")
            elif not inbox and privacy not in options:
                status, error = 403, api_error("privacy_level_option_mismatch")
            elif not inbox and len(str(post.get("title", "")).encode("utf-16-le")) // 2 > 2200:
                status, error = 400, api_error("invalid_params", "title too long")
            if not error:
                outcome, reason, polls = self._next.pop(0) if self._next else ("COMPLETE", "", None)
                publish_id = f"v_pub_file~v2-1.{next(self._ids)}"
                task_id = f"t{next(self._ids)}"
                self.tasks[publish_id] = Task(
                    publish_id,
                    open_id,
                    inbox,
                    size,
                    chunk,
                    total,
                    now,
                    title=str(post.get("title", "")),
                    privacy_level=privacy,
                    polls_left=self.polls_to_finish if polls is None else polls,
                    outcome=outcome,
                    fail_reason=reason,
                )
                self._task_ids[task_id] = publish_id
                fault = self.after.pick("init", publish_id)
        if error:
            self._reply(handler, status, error)
            return
        if fault is not None:
            self.after.apply(fault, handler, lambda: self._error_500(handler))
            return
        upload_url = f"{self.url}/upload/{task_id}?upload_id={publish_id}&sig=fake"
        self._reply(handler, 200, ok({"publish_id": publish_id, "upload_url": upload_url}))

    def _route_put(self, handler: FakeHandler, task_id: str, query: Mapping[str, str]) -> None:
        with self._lock:
            publish_id = self._task_ids.get(task_id, "")
            task = self.tasks.get(publish_id)
            now = self.now()
        if task is None:
            self._reply(handler, 404, api_error("not_found", "no upload task"), drain=True)
            return
        if now - task.created_at > UPLOAD_TTL:
            self._reply(handler, 403, api_error("upload_url_expired"), drain=True)
            return
        found = _RANGE.match(handler.headers.get("content-range") or "")
        length = int(handler.headers.get("content-length") or -1)
        if (handler.headers.get("content-type") or "") not in MIME_TYPES or found is None:
            self._reply(handler, 400, api_error("invalid_params", "bad headers"), drain=True)
            return
        first, last, total = (int(x) for x in found.groups())
        index = first // task.chunk_size if task.chunk_size else 0
        final = index == task.total - 1
        expected = task.video_size - first if final else task.chunk_size
        if total != task.video_size or first != task.received or first % task.chunk_size:
            headers = {"Content-Range": f"bytes 0-{task.received - 1}/{task.video_size}"}
            self._reply(handler, 416, api_error("range_mismatch"), headers, drain=True)
            return
        if last - first + 1 != expected or length != expected:
            self._reply(handler, 400, api_error("invalid_params", "chunk size"), drain=True)
            return
        left = length
        while left > 0:
            data = handler.rfile.read(min(READ_BLOCK, left))
            if not data:
                handler.close_connection = True
                return
            task.hasher.update(data)
            left -= len(data)
        with self._lock:
            task.received += length
            task.puts += 1
            done = task.received == task.video_size
            fault = None
            if done:
                task.sha256 = task.hasher.hexdigest()
                self.uploads.append((task.open_id, task.sha256, publish_id))
                fault = self.after.pick("put", publish_id)
            lose = done and self._lose_final > 0
            if lose:
                self._lose_final -= 1
            status = 201 if done else 206
            self.puts.append((publish_id, first, last, total, status))
        if lose:
            self._drop(handler)
            return
        if fault is not None:
            self.after.apply(fault, handler, lambda: self._error_500(handler))
            return
        headers = {"Content-Range": f"bytes 0-{task.received - 1}/{task.video_size}"}
        self._reply(handler, status, "", headers)

    def _route_status(self, handler: FakeHandler, open_id: str, body: Mapping[str, Any]) -> None:
        fault: After | None = None
        with self._lock:
            task = self.tasks.get(str(body.get("publish_id", "")))
            if task is None or task.open_id != open_id:
                error = api_error("invalid_publish_id")
            else:
                error = {}
                if task.sha256 and task.publish_id not in self._status_read:
                    self._status_read.add(task.publish_id)
                    fault = self.after.pick("status", task.publish_id)
                self._advance(task)
                data: dict[str, Any] = {
                    "status": task.status,
                    "fail_reason": task.fail_reason if task.status == "FAILED" else "",
                    "publicaly_available_post_id": [int(task.post_id)] if task.post_id else [],
                    "uploaded_bytes": task.received,
                }
        if error:
            self._reply(handler, 400, error)
            return
        if fault is not None:
            self.after.apply(fault, handler, lambda: self._error_500(handler))
            return
        self._reply(handler, 200, ok(data))

    def _advance(self, task: Task) -> None:
        """One status read: progress the task's scripted life (lock held)."""
        if task.status != "PROCESSING_UPLOAD" or task.received < task.video_size:
            return
        if task.outcome == "NEVER":
            return
        if task.polls_left > 0:
            task.polls_left -= 1
            return
        if task.outcome == "FAILED":
            task.status = "FAILED"
            task.fail_reason = task.fail_reason or "file_format_check_failed"
            return
        task.status = "SEND_TO_USER_INBOX" if task.inbox else "PUBLISH_COMPLETE"
        self.creators[task.open_id].posts.append(self.now())
        if not task.inbox and task.privacy_level != "SELF_ONLY":
            task.post_id = str(next(self._ids))

    def _route_token(self, handler: FakeHandler, body: Mapping[str, Any]) -> None:
        with self._lock:
            entry = self.refresh_tokens.get(str(body.get("refresh_token", "")))
            if (
                body.get("grant_type") != "refresh_token"
                or not body.get("client_secret")
                or entry is None
                or entry[1] != body.get("client_key")
            ):
                error = {
                    "error": "invalid_grant",
                    "error_description": "Refresh token is invalid or expired.",
                    "log_id": "fakelog",
                }
                self._reply(handler, 400, error)
                return
            open_id = entry[0]
            # Rotation: the used refresh token dies, a new one is issued.
            del self.refresh_tokens[str(body["refresh_token"])]
            access = f"act.fake{next(self._ids)}"
            refresh = f"rft.fake{next(self._ids)}"
            self.access_tokens[access] = (open_id, self.now() + ACCESS_TTL)
            self.refresh_tokens[refresh] = (open_id, entry[1])
        self._reply(
            handler,
            200,
            {
                "open_id": open_id,
                "scope": "user.info.basic,video.publish,video.upload",
                "access_token": access,
                "expires_in": ACCESS_TTL,
                "refresh_token": refresh,
                "refresh_expires_in": REFRESH_TTL,
                "token_type": "Bearer",
            },
        )
