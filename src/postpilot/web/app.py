"""The dashboard's ASGI application: pages, the JSON API under /api the pages use, live updates
by server-sent events, and the actions.

FastAPI (on Starlette) gives request validation with JSON errors and the OpenAPI document at
/api/openapi.json from the same declarations; its own docs pages are off because they load
scripts from a CDN. The pages are static files (HTML, one script, one stylesheet) served from
the package, so the dashboard works offline under a strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from postpilot import output
from postpilot.config import PostingContext
from postpilot.jobs import JobStatus
from postpilot.store.dashboard import MAX_PAGE_SIZE, JobQuery
from postpilot.web import chart, views
from postpilot.web.actions import ActionError, Actions, Outcome, check_key
from postpilot.web.auth import COOKIE, Credentials, Guard
from postpilot.web.cache import CampaignNotFound, Campaigns

log = logging.getLogger("postpilot.web")

STATIC = Path(__file__).with_name("static")
#: Seconds between two looks at the campaigns for the event stream.
EVENT_POLL_SECONDS = 1.0
#: A comment line this often keeps proxies and the browser from dropping a quiet stream.
EVENT_KEEPALIVE_SECONDS = 15.0


class JSON(JSONResponse):
    """JSON through postpilot's own encoder (datetimes as ISO text), as --json prints it."""

    def render(self, content: Any) -> bytes:
        return output.to_compact_json(content).encode()


class ConfirmBody(BaseModel):
    """Settle an unconfirmed job."""

    model_config = ConfigDict(extra="forbid")
    posted: bool


class RetryBody(BaseModel):
    """Re-arm failed jobs."""

    model_config = ConfigDict(extra="forbid")
    include_non_retryable: bool = False


class Error(BaseModel):
    """Every error answer."""

    error: str
    detail: list[dict[str, Any]] | None = None


#: Every action names its Idempotency-Key (missing: a 400 with a JSON error, not a 422).
KeyHeader = Annotated[str, Header(alias="Idempotency-Key")]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Error} for code in (400, 401, 403, 404, 409, 422)
}


def _actor(request: Request) -> str:
    """Who acted: the OS user running the dashboard, how the request authenticated, from where."""
    client = request.client.host if request.client else "?"
    method = request.scope.get("state", {}).get("auth", "?")
    return f"{getpass.getuser()} via dashboard ({method}, {client})"


def create_app(  # noqa: C901  ruff counts the branches of every route closure in here
    root: Path,
    creds: Credentials,
    allowed_hosts: frozenset[str],
    stopping: threading.Event | None = None,
    *,
    secure: bool = False,
) -> Guard:
    """The dashboard for the project at `root`, wrapped in its security middleware.
    `stopping` ends the event streams (set it before shutting the server down)."""
    campaigns = Campaigns(root)
    api = FastAPI(
        title="postpilot dashboard API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        default_response_class=JSON,
    )
    actions = Actions()

    def warm_up() -> None:
        # The first visitor should not pay for scanning every campaign's jobs.
        try:
            views.overview(campaigns)
        except Exception as exc:  # the page reports problems itself; this is only a head start
            log.warning("dashboard warm-up failed: %s", type(exc).__name__)

    threading.Thread(target=warm_up, name="postpilot-dashboard-warm-up", daemon=True).start()
    stop = stopping if stopping is not None else threading.Event()

    @api.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        return JSON({"error": str(exc.detail)}, status_code=exc.status_code)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        # The input itself is never echoed back (it might be anything, even a secret).
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return JSON({"error": "invalid request", "detail": detail}, status_code=422)

    @api.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> Response:
        log.error("dashboard request failed: %s", type(exc).__name__)
        return JSON({"error": "internal error; see the dashboard's log"}, status_code=500)

    def ctx_of(name: str) -> PostingContext:
        try:
            return campaigns.context(name)
        except CampaignNotFound:
            raise HTTPException(404, f"no campaign named {name!r} in this project") from None

    # -- pages ------------------------------------------------------------------------------
    @api.get("/login", include_in_schema=False)
    def login(token: str = "") -> Response:
        if not creds.token_matches(token):
            return JSON({"error": "wrong or missing token in the login link"}, status_code=401)
        # 303 to the overview: the token leaves the address bar and the history.
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, creds.session, httponly=True, samesite="strict", path="/", secure=secure
        )
        return response

    @api.get("/", include_in_schema=False)
    def overview_page() -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @api.get("/campaigns/{name}", include_in_schema=False)
    def campaign_page(name: str) -> Response:
        ctx_of(name)
        return FileResponse(STATIC / "campaign.html", media_type="text/html")

    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- reading ----------------------------------------------------------------------------
    @api.get("/api/session", responses=ERRORS)
    def session(request: Request) -> dict[str, Any]:
        """The CSRF value the page sends with actions (never the access token)."""
        return {"csrf": creds.csrf, "auth": request.scope.get("state", {}).get("auth")}

    @api.get("/api/overview", responses=ERRORS)
    def overview() -> dict[str, Any]:
        """Every campaign: today's counts, success rate, next slot, blocks, unconfirmed."""
        return views.overview(campaigns)

    @api.get("/api/campaigns/{name}", responses=ERRORS)
    def campaign(name: str) -> dict[str, Any]:
        """A campaign: summary, per-account health, plan for the next days, archives."""
        return views.campaign_detail(campaigns, ctx_of(name))

    @api.get("/api/campaigns/{name}/status", responses=ERRORS)
    def status(name: str) -> dict[str, Any]:
        """Exactly what `postpilot --campaign NAME --status --json` prints (a status computed
        earlier is reused only while nothing it was computed from changed)."""
        return campaigns.status(ctx_of(name))

    @api.get("/api/campaigns/{name}/jobs", responses=ERRORS)
    def jobs(
        name: str,
        status: JobStatus | None = None,
        account: Annotated[str | None, Query(max_length=200)] = None,
        q: Annotated[str, Query(max_length=200)] = "",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        """A page of jobs in seeding order, filtered by status, account and a search text."""
        query = JobQuery(status, account or None, q.strip(), offset, limit)
        return views.jobs_page(campaigns, ctx_of(name), query)

    @api.get("/api/campaigns/{name}/outcomes", responses=ERRORS)
    def outcomes(name: str) -> dict[str, Any]:
        """Successes and failures per day and account over the campaign's life."""
        ctx = ctx_of(name)
        return {"rows": campaigns.view("outcomes", ctx, lambda: views.outcomes(campaigns, ctx))}

    @api.get("/api/campaigns/{name}/chart.svg", responses=ERRORS)
    def chart_svg(name: str) -> Response:
        """The outcomes as a picture."""
        ctx = ctx_of(name)
        rows = campaigns.view("outcomes", ctx, lambda: views.outcomes(campaigns, ctx))
        svg = chart.render(rows)
        return Response(svg, media_type="image/svg+xml")

    @api.get("/api/events", responses=ERRORS)
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: `overview` with the overview's data whenever it changes."""

        async def stream() -> AsyncIterator[str]:
            last = ""
            quiet = 0.0
            yield "retry: 2000\n\n"
            while not stop.is_set() and not await request.is_disconnected():
                data = await run_in_threadpool(views.overview, campaigns)
                text = output.to_compact_json(
                    {k: v for k, v in data.items() if k != "generated_at"}
                )
                if text != last:
                    last, quiet = text, 0.0
                    yield f"event: overview\ndata: {json.dumps(data, default=str)}\n\n"
                elif quiet >= EVENT_KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(EVENT_POLL_SECONDS)
                quiet += EVENT_POLL_SECONDS

        return StreamingResponse(stream(), media_type="text/event-stream")

    # -- actions ------------------------------------------------------------------------------
    def act(
        request: Request, name: str, action: str, target: str, params: dict[str, Any], key: str
    ) -> Response:
        ctx = ctx_of(name)
        try:
            outcome: Outcome = actions.run(
                ctx, action, target, params, check_key(key), _actor(request)
            )
        except ActionError as exc:
            return JSON({"error": exc.message}, status_code=exc.status)
        finally:
            campaigns.forget(name)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return JSON(outcome.body, status_code=outcome.status, headers=headers)

    @api.post("/api/campaigns/{name}/jobs/{job_id}/confirm", responses=ERRORS)
    def confirm(
        request: Request, name: str, job_id: str, body: ConfirmBody, key: KeyHeader = ""
    ) -> Response:
        """Settle an unconfirmed job as posted or not posted."""
        return act(request, name, "confirm", job_id, {"posted": body.posted}, key)

    @api.post("/api/campaigns/{name}/accounts/{account}/unblock", responses=ERRORS)
    def unblock(request: Request, name: str, account: str, key: KeyHeader = "") -> Response:
        """Lift an account's block once its cause is fixed."""
        return act(request, name, "unblock", account, {}, key)

    @api.post("/api/campaigns/{name}/retry-failed", responses=ERRORS)
    def retry_failed(request: Request, name: str, body: RetryBody, key: KeyHeader = "") -> Response:
        """Put failed jobs back to retrying (never unconfirmed ones)."""
        params = {"include_non_retryable": body.include_non_retryable}
        return act(request, name, "retry_failed", name, params, key)

    @api.post("/api/campaigns/{name}/pause", responses=ERRORS)
    def pause(request: Request, name: str, key: KeyHeader = "") -> Response:
        """Pause the campaign: runs and the service claim none of its jobs."""
        return act(request, name, "pause", name, {}, key)

    @api.post("/api/campaigns/{name}/resume", responses=ERRORS)
    def resume(request: Request, name: str, key: KeyHeader = "") -> Response:
        """Resume a paused campaign."""
        return act(request, name, "resume", name, {}, key)

    @api.api_route("/api/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    def unknown(rest: str) -> Response:
        return JSON({"error": f"no API endpoint /api/{rest}"}, status_code=404)

    return Guard(api, creds, allowed_hosts, on_close=campaigns.close)
