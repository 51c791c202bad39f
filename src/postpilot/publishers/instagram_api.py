"""The Instagram Graph API client of the Instagram channel: tokens, the Graph calls of a
Reels publish (container, rupload, status, publishing limit, recent media, permalink).

The publish flow (publishers/instagram.py) decides what to send and what an answer means for
the job; the error table is in publishers/instagram_errors.py.

Tokens: long-lived tokens (60 days) are refreshed ahead of expiry (`refresh_margin_days`) through
the Instagram Login refresh endpoint (`ig_refresh_token`) or Facebook Login's `fb_exchange_token`;
a token must be 24 h old to refresh and an expired token cannot be refreshed, so a failed early
refresh keeps the still-valid token. Every Graph call goes through `send_renewing`
(publishers/oauth.py): error code 190 (the token was refused, nothing was done) re-reads
credentials.json once per publish (another process may have refreshed) and resends with the
newer token; otherwise it is an AuthError. Tokens travel only in headers (`Authorization:
Bearer` / `OAuth`), except the refresh call, whose URL is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from postpilot.errors import CredentialsError
from postpilot.jobs import utcnow
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.credentials import AccountCredentials, secrets_of
from postpilot.publishers.errors import AuthError, PublishError, RateLimited, TransientError
from postpilot.publishers.http import (
    HttpClient,
    Response,
    file_chunks,
    response_json,
    response_text,
    retry_after,
)
from postpilot.publishers.instagram_errors import AUTH_CODES, int_or_zero, map_error
from postpilot.publishers.oauth import TokenSession, send_renewing
from postpilot.publishers.video import VideoInfo

log = logging.getLogger("postpilot.publishers.instagram")


class InstagramApi:
    """Authorized Graph calls of one Instagram publisher (see the module docstring)."""

    def __init__(
        self,
        *,
        store: CredentialStore,
        client: HttpClient,
        api_base: str,
        upload_base: str,
        token_url: str,
        token_grant: str,
        refresh_margin: timedelta,
        rate_limit_wait: timedelta,
    ) -> None:
        self.store = store
        self.client = client
        self.api_base = api_base
        self.version = urlsplit(api_base).path.rstrip("/").rsplit("/", 1)[-1] or "v21.0"
        self.upload_base = upload_base
        self.token_url = token_url
        self.token_grant = token_grant
        self.refresh_margin = refresh_margin
        self.rate_limit_wait = rate_limit_wait

    def ig_user(self, session: TokenSession) -> str:
        ig_user = session.creds.platform_id("ig_user_id")
        if not ig_user:
            raise AuthError(
                f"credentials for account {session.account!r} have no ig_user_id",
                hint="add the Instagram professional account id as ig_user_id in credentials.json",
            )
        return ig_user

    def upload(self, session: TokenSession, container: str, uri: str, video: VideoInfo) -> None:
        """Send the whole file to the rupload host from offset 0 (the documented restart)."""
        url = uri or f"{self.upload_base}/ig-api-upload/{self.version}/{container}"
        headers = {
            "authorization": f"OAuth {session.creds.access_token}",
            "offset": "0",
            "file_size": str(video.size),
            "content-type": "application/octet-stream",
        }
        with open(video.path, "rb") as handle:
            response = self.client.upload(
                "POST",
                url,
                file_chunks(handle, 0, video.size),
                video.size,
                headers=headers,
                secrets=session.secrets,
            )
        body = response_json(response)
        if 200 <= response.status_code < 300 and body.get("success") is True:
            return
        if isinstance(body.get("error"), dict):
            raise self.map_error(response, body, session, "upload")
        debug = body.get("debug_info") if isinstance(body.get("debug_info"), dict) else {}
        raw = response_text(response, session.secrets)
        if response.status_code >= 500 or (debug or {}).get("retriable") is True:
            raise TransientError(
                f"instagram upload failed with HTTP {response.status_code}",
                raw=raw,
                retry_at=retry_after(response, utcnow()),
                hint="the upload restarts next attempt",
            )
        if response.status_code == 401:
            raise AuthError(
                "instagram upload refused the token",
                raw=raw,
                hint="re-authorize the account and update credentials.json",
            )
        raise TransientError(
            f"instagram upload was refused with HTTP {response.status_code}",
            raw=raw,
            hint="the upload restarts from the beginning next attempt",
        )

    def status(self, session: TokenSession, container: str) -> tuple[str, str]:
        body = self.graph(
            session,
            "GET",
            f"/{container}",
            params={"fields": "status_code,status"},
            what="container status",
        )
        return str(body.get("status_code") or ""), str(body.get("status") or "")

    def check_quota(self, session: TokenSession, ig_user: str) -> None:
        """The publishing limit first: an exhausted quota makes the account's jobs wait."""
        body = self.graph(
            session,
            "GET",
            f"/{ig_user}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
            what="content_publishing_limit",
        )
        entries = body.get("data")
        entry = entries[0] if isinstance(entries, list) and entries else {}
        if not isinstance(entry, dict):
            return
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        usage = int_or_zero(entry.get("quota_usage"))
        total = int_or_zero((config or {}).get("quota_total"))
        duration = int_or_zero((config or {}).get("quota_duration")) or 86400
        if total and usage >= total:
            reset = self.quota_reset(session, ig_user, usage, duration)
            raise RateLimited(
                f"instagram publishing limit reached ({usage}/{total} posts in "
                f"{duration // 3600} h)",
                account_wide=True,
                error_type="publishing_limit",
                retry_at=reset,
                hint="the account's posts wait until its 24 h publishing window frees a slot",
            )

    def quota_reset(
        self, session: TokenSession, ig_user: str, usage: int | None, duration: int | None
    ) -> datetime:
        """When the rolling window frees a slot: the oldest post in it plus the window; the
        whole window when the recent media cannot tell."""
        now = utcnow()
        window = timedelta(seconds=duration or 86400)
        try:
            items = self.recent(session, ig_user, now - window)
        except PublishError:
            return now + window
        stamps = sorted(t for t in (_parse_time(i.get("timestamp")) for i in items) if t)
        if not stamps or (usage is not None and len(stamps) < usage):
            return now + window
        return max(stamps[0] + window, now + timedelta(minutes=1))

    def recent(self, session: TokenSession, ig_user: str, since: datetime) -> list[dict[str, Any]]:
        body = self.graph(
            session,
            "GET",
            f"/{ig_user}/media",
            params={
                "fields": "id,caption,timestamp,permalink,media_product_type",
                "since": str(int(since.timestamp())),
                "limit": "100",
            },
            what="recent media",
        )
        items = body.get("data")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    def permalink(self, session: TokenSession, media_id: str) -> str:
        try:
            body = self.graph(
                session, "GET", f"/{media_id}", params={"fields": "permalink"}, what="permalink"
            )
        except PublishError as exc:
            # The post exists; a missing URL must not turn success into failure.
            log.warning("instagram media %s published; permalink unavailable: %s", media_id, exc)
            return ""
        return str(body.get("permalink") or "")

    # -- tokens ----------------------------------------------------------------------------

    def session(self, account: str) -> TokenSession:
        creds = self.load(account)
        if not creds.access_token:
            raise AuthError(
                f"credentials for account {account!r} have no access_token",
                hint="authorize the account and put its long-lived token in credentials.json",
            )
        now = utcnow()
        if creds.expires_at is not None and creds.expires_at <= now:
            raise AuthError(
                f"the instagram token of account {account!r} expired at "
                f"{creds.expires_at.isoformat()} and cannot be refreshed",
                hint="re-authorize the account and update credentials.json",
            )
        former = secrets_of(creds)
        if creds.expires_at is not None and creds.expires_at - now <= self.refresh_margin:
            try:
                creds = self.refresh(creds, now)
            except PublishError as exc:
                # Still valid: use it; the refresh is tried again on the next publish.
                log.warning("instagram token refresh for %r failed: %s", account, exc)
        return TokenSession(account, creds, former=former)

    def load(self, account: str) -> AccountCredentials:
        try:
            return self.store.get(account)
        except CredentialsError as exc:
            raise AuthError(str(exc), hint="fix credentials.json for this account") from None

    def refresh(self, creds: AccountCredentials, now: datetime) -> AccountCredentials:
        """Exchange the long-lived token for a new one and write it back (0600, atomic)."""
        if self.token_grant == "ig_refresh_token":  # noqa: S105 - a grant name, not a secret
            params = {"grant_type": "ig_refresh_token", "access_token": creds.access_token}
        else:
            params = {
                "grant_type": "fb_exchange_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "fb_exchange_token": creds.access_token,
            }
        secrets = secrets_of(creds)
        response = self.client.request("GET", self.token_url, params=params, secrets=secrets)
        body = response_json(response)
        token = body.get("access_token")
        if response.status_code >= 300 or not isinstance(token, str) or not token:
            raise self.map_error(
                response, body, TokenSession(creds.account, creds), "token refresh"
            )
        expires_in = int_or_zero(body.get("expires_in"))
        expires_at = now + timedelta(seconds=expires_in) if expires_in else None
        log.info("instagram token of %r refreshed", creds.account)
        return self.store.update_tokens(creds.account, token, expires_at)

    # -- HTTP and errors -------------------------------------------------------------------

    def graph(
        self,
        session: TokenSession,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        what: str,
    ) -> dict[str, Any]:
        """One Graph call; on code 190 re-read credentials once (another process may have
        refreshed the token) and retry with the newer token."""

        def send(creds: AccountCredentials) -> Response:
            return self.client.request(
                method,
                f"{self.api_base}{path}",
                headers={"authorization": f"Bearer {creds.access_token}"},
                params=params,
                form=form,
                secrets=session.secrets,
            )

        def reload(rejected: TokenSession) -> AccountCredentials | None:
            stored = self.load(rejected.account)
            if stored.access_token and stored.access_token != rejected.token:
                return stored
            return None

        response = send_renewing(session, send, token_rejected=_token_rejected, renew=reload)
        body = response_json(response)
        if 200 <= response.status_code < 300 and "error" not in body:
            return body
        raise self.map_error(response, body, session, what)

    def map_error(
        self, response: Response, body: Mapping[str, Any], session: TokenSession, what: str
    ) -> PublishError:
        return map_error(response, body, session.secrets, what, self.rate_limit_wait)


def _token_rejected(response: Response) -> bool:
    """A Graph error envelope whose code says the access token was refused."""
    error = response_json(response).get("error")
    return isinstance(error, dict) and int_or_zero(error.get("code")) in AUTH_CODES


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return when.astimezone(UTC)
