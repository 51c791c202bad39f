"""A local fake of YouTube's upload API (resumable protocol) and Google's token endpoint.

A real HTTP/1.1 server on 127.0.0.1 implementing the contract of
shared/reference/publishing_apis_and_peers.md A1.8 as a state machine:

    POST /token                                   refresh_token grant -> access token
    POST /upload/youtube/v3/videos?uploadType=resumable&part=...
                                                  Bearer + X-Upload-Content-Length + JSON
                                                  -> 200, Location: <session URI>
    PUT  <session URI>  Content-Range: bytes a-b/T  a chunk; 308 + Range, or 201 + video
    PUT  <session URI>  Content-Range: bytes */T    status probe: 308 (+Range) or the final
                                                  response replayed
    GET  /_fake/state                             JSON snapshot (for tests in other processes)

Exactly one video is created per session, when its last byte arrives. Uploaded bytes are
hashed as they stream in and never kept, so a 1 GiB upload costs no memory.

Fault injection (methods, thread-safe): fail_put (5xx/429 on the N-th data PUT, optional
Retry-After), drop_after (cut the connection after N more bytes of a PUT, keeping them),
lose_final_response (create the video but drop the answer, and the next probes' answers too),
lose_final_every (every n-th completed session loses its final answer, or every answer about
it until heal()), fail_probes (status probes answer an error), pause_at (hold the upload after
N bytes until released: lets a test SIGKILL the client mid-upload), fault_after_final (the
completing PUT creates the video, then its answer is cut, a 500 or hung), partial_accept (keep fewer
bytes than sent), expire_sessions (-> 404), expire_access_tokens (-> 401), quota (403
quotaExceeded after a unit budget), upload_limit_exceeded, invalid_grant. Run standalone with
`python -m tests.fakes.youtube`: it prints {"url": ...} and serves until killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.after_fault import After, AfterFaults

CHUNK_GRANULE = 256 * 1024
READ_BLOCK = 1024 * 1024
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)$")
_PROBE = re.compile(r"bytes \*/(\d+)$")


@dataclass
class Video:
    """A video the fake created (one per completed session)."""

    video_id: str
    account: str
    session_id: str
    size: int
    sha256: str
    title: str
    description: str
    privacy_status: str


@dataclass
class Session:
    """One resumable upload session."""

    session_id: str
    account: str
    total: int
    content_type: str
    metadata: dict[str, Any]
    received: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    video: Video | None = None
    expired: bool = False
    #: Answers about this (completed) session still to drop (lose_final_every).
    lost_answers: int = 0


@dataclass
class _PutFault:
    status: int
    retry_after: str | None
    body: dict[str, Any]


class FakeYouTube:
    """The fake server (see the module docstring). Use as a context manager or start()/stop()."""

    def __init__(self, *, token_lifetime: int = 3600, quota_cost: int = 100) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self.token_lifetime = token_lifetime
        self.quota_cost = quota_cost
        #: refresh token -> account; access token -> (account, monotonic expiry)
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, Session] = {}
        self.videos: list[Video] = []
        self.token_refreshes = 0
        self.initiations = 0
        self.data_puts = 0
        self.probes = 0
        self.quota_used = 0
        self.quota_limit: int | None = None
        self.upload_limit_exceeded = False
        self.invalid_grant = False
        self.rotate_refresh_tokens = False
        self._put_faults: dict[int, _PutFault] = {}
        self._drop_after: int | None = None
        self._lose_answers = 0
        self._probe_faults: list[_PutFault] = []
        self._lose_every = 0
        self._lose_until_healed = False
        self.completed = 0
        self._partial: int | None = None
        self._pause_at: int | None = None
        self.paused = threading.Event()
        self._release = threading.Event()
        #: (method, path-without-query, status) of every answered request.
        self.log: list[tuple[str, str, int]] = []
        self.after = AfterFaults()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeYouTube:
        """Start serving on an ephemeral 127.0.0.1 port."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release paused uploads and hung answers."""
        self._release.set()
        self.after.heal()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeYouTube:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (api_base; upload_base is url + /upload)."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_url(self) -> str:
        """The fake token endpoint."""
        return f"{self.url}/token"

    # -- accounts and tokens ---------------------------------------------------------------

    def add_account(
        self, account: str, refresh_token: str, access_token: str | None = None
    ) -> None:
        """Register an account's refresh token and, optionally, a valid access token."""
        with self._lock:
            self.refresh_tokens[refresh_token] = account
            if access_token:
                self.access_tokens[access_token] = (account, time.monotonic() + 3600)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now refused with 401."""
        with self._lock:
            self.access_tokens.clear()

    def _account_for(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            entry = self.access_tokens.get(authorization[7:])
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    # -- fault knobs -----------------------------------------------------------------------

    def fail_put(
        self,
        status: int = 503,
        *,
        nth: int = 1,
        retry_after: str | None = None,
        reason: str = "backendError",
    ) -> None:
        """The nth data PUT from now answers `status` without keeping its bytes."""
        with self._lock:
            body = _error_body(status, reason, f"injected {status}")
            self._put_faults[self.data_puts + nth] = _PutFault(status, retry_after, body)

    def lose_final_every(self, n: int, *, until_healed: bool = False) -> None:
        """Every n-th session to complete from now (n=5: 20%) creates its video, then loses
        the answer; with `until_healed` also every later answer about it until heal()."""
        with self._lock:
            self._lose_every, self._lose_until_healed = n, until_healed
            self.completed = 0

    def fault_after_final(self, kind: After | Sequence[After], every: int = 5) -> None:
        """Every `every`-th completing PUT creates its video, then its answer is cut, a 500
        (backendError) or hung until heal(); later probes of the session answer normally."""
        with self._lock:
            self.after.arm("final", kind, every)

    def heal(self) -> None:
        """Stop losing answers (lose_final_every, fault_after_final): later probes get the
        video; hung answers are released (cut)."""
        self.after.heal()
        with self._lock:
            self._lose_every = 0
            for session in self.sessions.values():
                session.lost_answers = 0

    def fail_probes(self, status: int = 403, *, count: int = 1, reason: str = "forbidden") -> None:
        """The next `count` status probes answer `status` (e.g. a refusal after the last byte)."""
        with self._lock:
            body = _error_body(status, reason, f"injected {status}")
            self._probe_faults.extend([_PutFault(status, None, body)] * count)

    def drop_after(self, nbytes: int) -> None:
        """The next data PUT keeps `nbytes` of its body, then the connection is cut."""
        with self._lock:
            self._drop_after = nbytes

    def lose_final_response(self, count: int = 1) -> None:
        """The completing PUT creates the video but its answer (and the next count-1 answers
        about that session) are lost: the connection closes without a response."""
        with self._lock:
            self._lose_answers = count

    def partial_accept(self, nbytes: int) -> None:
        """The next data PUT keeps only `nbytes` and reports that smaller Range."""
        with self._lock:
            self._partial = nbytes

    def pause_at(self, nbytes: int) -> None:
        """Hold the upload once a session has received `nbytes` (sets `paused`)."""
        with self._lock:
            self._pause_at = nbytes
            self.paused.clear()
            self._release.clear()

    def release(self) -> None:
        """Let a paused upload continue (or notice its client died)."""
        self._release.set()

    def expire_sessions(self) -> None:
        """Every existing session answers 404 from now on."""
        with self._lock:
            for session in self.sessions.values():
                session.expired = True

    def videos_for(self, account: str) -> list[Video]:
        """Videos created for `account`."""
        with self._lock:
            return [v for v in self.videos if v.account == account]

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot (what GET /_fake/state returns)."""
        with self._lock:
            return {
                "videos": [v.__dict__ for v in self.videos],
                "sessions": {
                    k: {"account": s.account, "total": s.total, "received": s.received}
                    for k, s in self.sessions.items()
                },
                "initiations": self.initiations,
                "token_refreshes": self.token_refreshes,
                "data_puts": self.data_puts,
                "probes": self.probes,
                "quota_used": self.quota_used,
            }

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"


def _error_body(code: int, reason: str, message: str, domain: str = "youtube") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }


class _Drop(Exception):
    """Close the connection without answering."""


class _Answered(Exception):
    """The request was answered (or cut) by an after-fault; nothing more to send."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeYouTube
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read fake.log instead."""

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.fake._lock:
            self.fake.log.append((self.command, urlsplit(self.path).path, status))

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        with self.fake._lock:
            self.fake.log.append((self.command, urlsplit(self.path).path, 0))

    def _length(self) -> int:
        return int(self.headers.get("Content-Length") or 0)

    def _read_all(self, limit: int = 10 * 1024 * 1024) -> bytes:
        length = self._length()
        if length > limit:
            raise ValueError("body too large for a metadata request")
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        while length > 0:
            data = self.rfile.read(min(READ_BLOCK, length))
            if not data:
                return
            length -= len(data)

    # -- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Test-only state snapshot."""
        if urlsplit(self.path).path == "/_fake/state":
            self._send(200, self.fake.state())
        else:
            self._send(404, _error_body(404, "notFound", "no such endpoint"))

    def do_POST(self) -> None:
        """Token refreshes and upload initiation."""
        path = urlsplit(self.path).path
        if path == "/token":
            self._token()
        elif path == "/upload/youtube/v3/videos":
            self._initiate()
        else:
            self._discard(self._length())
            self._send(404, _error_body(404, "notFound", "no such endpoint"))

    def do_PUT(self) -> None:
        """Chunks and status probes on a session URI."""
        query = parse_qs(urlsplit(self.path).query)
        session_id = (query.get("upload_id") or [""])[0]
        try:
            self._put(session_id)
        except _Drop:
            self._drop()
        except _Answered:
            pass

    # -- endpoints -------------------------------------------------------------------------

    def _token(self) -> None:
        fake = self.fake
        form = parse_qs(self._read_all().decode("utf-8"))
        grant = (form.get("grant_type") or [""])[0]
        refresh = (form.get("refresh_token") or [""])[0]
        with fake._lock:
            account = fake.refresh_tokens.get(refresh)
            if grant != "refresh_token" or account is None or fake.invalid_grant:
                self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
                return
            fake.token_refreshes += 1
            access = f"ya29.fake-{fake._next_id('at')}"
            fake.access_tokens[access] = (account, time.monotonic() + fake.token_lifetime)
            answer: dict[str, Any] = {
                "access_token": access,
                "expires_in": fake.token_lifetime,
                "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/youtube.upload",
            }
            if fake.rotate_refresh_tokens:
                new_refresh = f"1//fake-{fake._next_id('rt')}"
                del fake.refresh_tokens[refresh]
                fake.refresh_tokens[new_refresh] = account
                answer["refresh_token"] = new_refresh
        self._send(200, answer)

    def _initiate(self) -> None:
        fake = self.fake
        query = parse_qs(urlsplit(self.path).query)
        raw = self._read_all()
        account = fake._account_for(self.headers.get("Authorization"))
        if account is None:
            self._send(401, _error_body(401, "authError", "Invalid Credentials", "global"))
            return
        if query.get("uploadType") != ["resumable"] or not query.get("part"):
            self._send(400, _error_body(400, "badRequest", "uploadType=resumable and part needed"))
            return
        try:
            total = int(self.headers.get("X-Upload-Content-Length", ""))
            metadata = json.loads(raw)
        except ValueError:
            self._send(400, _error_body(400, "badRequest", "bad length or JSON body"))
            return
        title = str(metadata.get("snippet", {}).get("title", ""))
        if not title or len(title) > 100 or "<" in title or ">" in title:
            self._send(400, _error_body(400, "invalidTitle", "The video title is invalid."))
            return
        category = str(metadata.get("snippet", {}).get("categoryId", "22"))
        if not category.isdigit():
            self._send(400, _error_body(400, "invalidCategoryId", "The category is invalid."))
            return
        with fake._lock:
            if fake.upload_limit_exceeded:
                self._send(
                    400,
                    _error_body(
                        400,
                        "uploadLimitExceeded",
                        "The user has exceeded the number of videos they may upload.",
                    ),
                )
                return
            if (
                fake.quota_limit is not None
                and fake.quota_used + fake.quota_cost > fake.quota_limit
            ):
                self._send(
                    403,
                    _error_body(
                        403,
                        "quotaExceeded",
                        "The request cannot be completed because you have exceeded your quota.",
                        "youtube.quota",
                    ),
                )
                return
            fake.quota_used += fake.quota_cost
            fake.initiations += 1
            session_id = fake._next_id("up")
            fake.sessions[session_id] = Session(
                session_id=session_id,
                account=account,
                total=total,
                content_type=self.headers.get("X-Upload-Content-Type", ""),
                metadata=metadata,
            )
        part = query["part"][0]
        location = (
            f"{fake.url}/upload/youtube/v3/videos?uploadType=resumable"
            f"&upload_id={session_id}&part={part}"
        )
        self._send(200, None, {"Location": location})

    def _put(self, session_id: str) -> None:
        fake = self.fake
        length = self._length()
        content_range = self.headers.get("Content-Range", "")
        with fake._lock:
            session = fake.sessions.get(session_id)
        if session is None or session.expired:
            self._discard(length)
            self._send(404, _error_body(404, "notFound", "upload session not found"))
            return
        probe = _PROBE.match(content_range)
        if probe and length == 0:
            with fake._lock:
                fake.probes += 1
                refusal = fake._probe_faults.pop(0) if fake._probe_faults else None
            if refusal is not None:
                self._send(refusal.status, refusal.body)
                return
            self._answer(session)
            return
        match = _RANGE.match(content_range)
        if not match:
            self._discard(length)
            self._send(400, _error_body(400, "badContentRange", "Content-Range is required"))
            return
        first, last, total = (int(g) for g in match.groups())
        if session.video is not None:
            self._discard(length)
            self._answer(session)
            return
        with fake._lock:
            fake.data_puts += 1
            fault = fake._put_faults.pop(fake.data_puts, None)
        problem = ""
        if total != session.total:
            problem = f"total {total} differs from the session's {session.total}"
        elif first != session.received:
            problem = f"chunk starts at {first}, the session has {session.received} bytes"
        elif last - first + 1 != length:
            problem = "Content-Range and Content-Length disagree"
        elif last + 1 < total and length % CHUNK_GRANULE:
            problem = "a non-final chunk must be a multiple of 262144 bytes"
        if problem:
            self._discard(length)
            self._send(400, _error_body(400, "badContentRange", problem))
            return
        if fault is not None:
            self._discard(length)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(fault.status, fault.body, headers)
            return
        self._receive(session, length)
        self._answer(session)

    def _receive(self, session: Session, length: int) -> None:
        fake = self.fake
        with fake._lock:
            drop, fake._drop_after = fake._drop_after, None
            keep, fake._partial = fake._partial, None
            pause = fake._pause_at
        left = length
        while left > 0:
            want = min(READ_BLOCK, left)
            if drop is not None:
                want = min(want, drop)
            if pause is not None and session.received < pause:
                want = min(want, pause - session.received)
            if want == 0:
                break
            try:
                data = self.rfile.read(want)
            except OSError:
                data = b""
            if not data:
                # The client went away: keep what arrived (the next probe reports it).
                raise _Drop
            left -= len(data)
            accepted = data if keep is None else data[: max(0, keep)]
            if keep is not None:
                keep -= len(accepted)
            with fake._lock:
                session.hasher.update(accepted)
                session.received += len(accepted)
            if drop is not None:
                drop -= len(data)
            if pause is not None and session.received >= pause:
                with fake._lock:
                    fake._pause_at = None
                pause = None
                fake.paused.set()
                fake._release.wait(60)
        if left > 0:
            raise _Drop
        if session.received == session.total and session.video is None:
            self._complete(session)
            with fake._lock:
                lose = fake._lose_answers > 0
                if lose:
                    fake._lose_answers -= 1
                assert session.video is not None
                after = fake.after.pick("final", session.video.video_id)
            if lose:
                raise _Drop
            if after is not None:
                error = _error_body(500, "backendError", "injected after the video was created")
                fake.after.apply(after, self, lambda: self._send(500, error))
                raise _Answered

    def _complete(self, session: Session) -> None:
        fake = self.fake
        snippet = session.metadata.get("snippet", {})
        status = session.metadata.get("status", {})
        with fake._lock:
            video = Video(
                video_id=f"vid{fake._next_id('')}",
                account=session.account,
                session_id=session.session_id,
                size=session.received,
                sha256=session.hasher.hexdigest(),
                title=str(snippet.get("title", "")),
                description=str(snippet.get("description", "")),
                privacy_status=str(status.get("privacyStatus", "public")),
            )
            session.video = video
            fake.videos.append(video)
            fake.completed += 1
            if fake._lose_every and fake.completed % fake._lose_every == 0:
                session.lost_answers = 10**9 if fake._lose_until_healed else 1

    def _answer(self, session: Session) -> None:
        """The session's state: the final response once complete, else 308 (+Range)."""
        fake = self.fake
        if session.video is not None:
            with fake._lock:
                lose = fake._lose_answers > 0 or session.lost_answers > 0
                if session.lost_answers > 0:
                    session.lost_answers -= 1
                elif lose:
                    fake._lose_answers -= 1
            if lose:
                raise _Drop
            video = session.video
            self._send(
                201,
                {
                    "kind": "youtube#video",
                    "id": video.video_id,
                    "snippet": session.metadata.get("snippet", {}),
                    "status": {"uploadStatus": "uploaded", **session.metadata.get("status", {})},
                },
            )
            return
        headers = {"Range": f"bytes=0-{session.received - 1}"} if session.received else {}
        self._send(308, None, headers)


def main() -> int:
    """Serve until killed; print the base URL as JSON on stdout."""
    fake = FakeYouTube().start()
    for spec in sys.argv[1:]:
        account, _, refresh = spec.partition("=")
        fake.add_account(account, refresh)
    print(json.dumps({"url": fake.url}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
