"""Jira Cloud and Server/Data Center: issues found by a JQL search, paged, with rate-limit back-off.

Cloud: ``GET /rest/api/3/search/jql`` paged by ``nextPageToken`` (absent or ``isLast`` on the last page),
basic auth with an account e-mail and an API token. Server/DC: ``GET /rest/api/2/search`` paged by
``startAt``/``maxResults`` against ``total``, a personal access token as bearer. Done comes from the
status category (``done``), story points from a configurable custom field. A re-import adds
``updated >= …`` to the JQL, starting a day before the newest update seen: JQL dates are read in the Jira
user's own time zone, unknown here, and a day covers every zone; the upsert drops the overlap.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, model_validator

from andon.messages import t
from andon.okr.work.base import Cursor, ImportBatch, ImporterSettings, WorkImporter, WorkImportError, parse_time
from andon.okr.work.http import Session, backoff, json_body, refuse, retry_after
from andon.store.okr import WorkItem

BASE_FIELDS = ("summary", "status", "labels", "assignee", "updated", "issuetype")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


class JiraSettings(ImporterSettings):
    """Where the Jira is, which issues (JQL), how to sign in, and which field holds story points."""

    type: Literal["jira"] = "jira"
    url: str = Field(description="base URL, e.g. https://acme.atlassian.net or https://jira.acme.internal")
    flavor: Literal["cloud", "server"] = Field(default="cloud", description="Jira Cloud, or Server/Data Center")
    jql: str = Field(default="", description="which issues, e.g. project = MENU AND labels = okr")
    email: str | None = Field(default=None, description="Cloud: the account e-mail of the API token")
    token_env: str = Field(default="JIRA_API_TOKEN", description="environment variable holding the token")
    points_field: str | None = Field(default=None, description="story-point field id, e.g. customfield_10016")
    page_size: int = Field(default=100, ge=1, le=1000)
    overlap_hours: float = Field(default=24.0, ge=0, description="re-read this much before the last update seen")

    @model_validator(mode="after")
    def _cloud_needs_email(self) -> JiraSettings:
        if self.flavor == "cloud" and not self.email:
            raise ValueError(t("okr_work.jira.email_missing"))
        return self


class JiraImporter(WorkImporter):
    """Issues of a JQL search on Jira Cloud or Server/DC."""

    type_name: ClassVar[str] = "jira"
    source: ClassVar[str] = "jira"
    Settings: ClassVar[type[ImporterSettings]] = JiraSettings
    settings: JiraSettings

    @property
    def base(self) -> str:
        """The base URL without a trailing slash."""
        return self.settings.url.rstrip("/")

    @property
    def cursor_name(self) -> str:
        """One cursor per Jira and JQL."""
        digest = hashlib.sha256(self.settings.jql.strip().encode()).hexdigest()[:12]
        return f"jira:{self.base}:{digest}"

    def jql(self, cursor: Cursor | None) -> str:
        """The configured JQL, narrowed to issues updated since the cursor (its ORDER BY kept last)."""
        text = self.settings.jql.strip()
        match = _ORDER_BY.search(text)
        query, order = (text[: match.start()].strip(), " " + text[match.start() :]) if match else (text, "")
        since = parse_time((cursor or {}).get("updated"))
        if since is None:
            return text
        start = since - timedelta(hours=self.settings.overlap_hours)
        clause = f'updated >= "{start.strftime("%Y/%m/%d %H:%M")}"'
        return (f"({query}) AND {clause}" if query else clause) + order

    def fields(self) -> str:
        """The fields asked for: the new Cloud search returns only ids unless told."""
        extra = (self.settings.points_field,) if self.settings.points_field else ()
        return ",".join((*BASE_FIELDS, *extra))

    def _session(self) -> Session:
        s = self.settings
        where = f"jira {self.base}"
        if s.flavor == "cloud":
            token = self.context.secret(s.token_env, setting="jira.token_env")
            auth: httpx.Auth | None = httpx.BasicAuth(s.email or "", token)
            headers = {"Accept": "application/json"}
        else:
            auth = None
            headers = {
                "Accept": "application/json",
                "Authorization": f"Bearer {self.context.secret(s.token_env, setting='jira.token_env')}",
            }
        return Session(s, self.context, headers, _wait_for, where, auth=auth)

    async def fetch(self, cursor: Cursor | None) -> ImportBatch:
        """Every issue the JQL finds (changed since the cursor), all pages."""
        jql = self.jql(cursor)
        items: list[WorkItem] = []
        async with self._session() as session:
            if self.settings.flavor == "cloud":
                await self._cloud_pages(session, jql, items)
            else:
                await self._server_pages(session, jql, items)
        newest = max((i.updated_at for i in items if i.updated_at), default=parse_time((cursor or {}).get("updated")))
        new_cursor: Cursor = {"updated": newest.isoformat() if newest else None}
        return ImportBatch(items, new_cursor, requests=session.requests, waits=tuple(session.waits))

    async def _cloud_pages(self, session: Session, jql: str, items: list[WorkItem]) -> None:
        url = f"{self.base}/rest/api/3/search/jql"
        token: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"jql": jql, "maxResults": self.settings.page_size, "fields": self.fields()}
            if token:
                params["nextPageToken"] = token
            page = self._page(await session.get(url, params=params), session.where)
            items.extend(self.item(issue) for issue in page.get("issues") or [])
            token = page.get("nextPageToken")
            # A token seen before would loop forever; Jira documents neither, so stop rather than spin.
            if not token or page.get("isLast") is True or token in seen:
                return
            seen.add(token)

    async def _server_pages(self, session: Session, jql: str, items: list[WorkItem]) -> None:
        url = f"{self.base}/rest/api/2/search"
        start = 0
        while True:
            params = {"jql": jql, "startAt": start, "maxResults": self.settings.page_size, "fields": self.fields()}
            page = self._page(await session.get(url, params=params), session.where)
            issues = page.get("issues") or []
            items.extend(self.item(issue) for issue in issues)
            start = int(page.get("startAt", start)) + len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    def _page(self, response: httpx.Response, where: str) -> dict[str, Any]:
        body = json_body(response, where) if response.content else {}
        if response.status_code != 200:
            messages = body.get("errorMessages") if isinstance(body, dict) else None
            errors = body.get("errors") if isinstance(body, dict) else None
            detail = "; ".join([*(messages or []), *(f"{k}: {v}" for k, v in (errors or {}).items())])
            raise refuse(
                response, where, detail, auth_hint=t("okr_work.jira.auth_hint", variable=self.settings.token_env)
            )
        if not isinstance(body, dict):
            raise WorkImportError(t("okr_work.bad_shape", what="search result"), where=where)
        return body

    def item(self, issue: dict[str, Any]) -> WorkItem:
        """One Jira issue as a work item."""
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        assignee = fields.get("assignee") or {}
        key = str(issue["key"])
        return WorkItem(
            source=self.source, external_id=key, title=str(fields.get("summary") or ""),
            status=str(status.get("name") or ""), done=category == "done",
            points=_points(fields.get(self.settings.points_field)) if self.settings.points_field else None,
            labels=tuple(str(label) for label in fields.get("labels") or ()), url=f"{self.base}/browse/{key}",
            assignee=assignee.get("displayName") or assignee.get("name") or None,
            updated_at=parse_time(fields.get("updated")),
            kind=str((fields.get("issuetype") or {}).get("name") or "issue").lower().replace(" ", "_"),
        )  # fmt: skip


def _wait_for(response: httpx.Response, attempt: int) -> float | None:
    """Jira says "slow down" with 429 (and 503 when overloaded), usually with ``Retry-After``."""
    if response.status_code not in (429, 503):
        return None
    wait = retry_after(response)
    return backoff(attempt) if wait is None else wait


def _points(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
