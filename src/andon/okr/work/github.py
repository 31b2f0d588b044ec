"""GitHub (and GitHub Enterprise) issues and pull requests of one repository, incremental by ETag and ``since``.

``GET /repos/{owner}/{repo}/issues`` lists both (a pull request carries ``pull_request``), paged by the
``Link`` header. A re-import first asks, with ``If-None-Match``, for the one most recently updated item: a
304 means nothing changed and costs no rate limit. Otherwise it lists what changed with ``since=`` (the
newest update seen last time), oldest first, so an item updated while paging only moves later in the list.
Rate limits: 403/429 with ``retry-after``, or ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset``.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from andon.messages import t
from andon.okr.work.base import Cursor, ImportBatch, ImporterSettings, WorkImporter, WorkImportError, parse_time
from andon.okr.work.http import Session, json_body, refuse, retry_after
from andon.store.okr import WorkItem

API_VERSION = "2022-11-28"
SECONDARY_WAIT_S = 60.0  # GitHub: "wait at least one minute" when a secondary limit names no time
# Closed as one of these is not finished work (GitHub's state_reason).
NOT_DONE_REASONS = frozenset({"not_planned", "duplicate"})


class GitHubSettings(ImporterSettings):
    """Which repository, where its API is (GitHub Enterprise too), the token, and what to import."""

    type: Literal["github"] = "github"
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    base_url: str = Field(default="https://api.github.com", description="API root; GHE: https://HOST/api/v3")
    token_env: str | None = Field(
        default="GITHUB_TOKEN", description="environment variable with a token; None: anonymous"
    )
    pull_requests: bool = Field(default=True, description="import pull requests as well as issues")
    labels: tuple[str, ...] = Field(default=(), description="only items with all of these labels")
    points_label_prefix: str | None = Field(default=None, description="a label such as 'points:3' gives points")
    page_size: int = Field(default=100, ge=1, le=100)


class GitHubImporter(WorkImporter):
    """Issues and pull requests of one GitHub repository."""

    type_name: ClassVar[str] = "github"
    source: ClassVar[str] = "github"
    Settings: ClassVar[type[ImporterSettings]] = GitHubSettings
    settings: GitHubSettings

    @property
    def base(self) -> str:
        """The API root without a trailing slash."""
        return self.settings.base_url.rstrip("/")

    @property
    def cursor_name(self) -> str:
        """One cursor per API root, repository and label filter."""
        labels = ",".join(sorted(self.settings.labels))
        return f"github:{self.base}:{self.settings.repo}:{labels}"

    def _session(self) -> Session:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, "User-Agent": "andon"}
        if self.settings.token_env:
            headers["Authorization"] = (
                f"Bearer {self.context.secret(self.settings.token_env, setting='github.token_env')}"
            )
        return Session(
            self.settings, self.context, headers, _wait_for, f"github {self.base}/repos/{self.settings.repo}"
        )

    def _filters(self) -> dict[str, Any]:
        params: dict[str, Any] = {"state": "all"}
        if self.settings.labels:
            params["labels"] = ",".join(self.settings.labels)
        return params

    async def fetch(self, cursor: Cursor | None) -> ImportBatch:
        """Every issue and pull request updated since the cursor; nothing when the ETag says unchanged."""
        cursor = cursor or {}
        url = f"{self.base}/repos/{self.settings.repo}/issues"
        items: list[WorkItem] = []
        async with self._session() as session:
            probe_params = {**self._filters(), "sort": "updated", "direction": "desc", "per_page": 1}
            conditional = {"If-None-Match": cursor["etag"]} if cursor.get("etag") else None
            probe = await session.get(url, params=probe_params, headers=conditional)
            if probe.status_code == 304:
                return ImportBatch([], cursor, unchanged=True, requests=session.requests, waits=tuple(session.waits))
            self._check(probe, session.where)
            first = {**self._filters(), "sort": "updated", "direction": "asc", "per_page": self.settings.page_size}
            if cursor.get("since"):
                first["since"] = cursor["since"]
            params: dict[str, Any] | None = first
            next_url: str | None = url
            seen: set[str] = set()
            while next_url and next_url not in seen:
                seen.add(next_url)
                response = await session.get(next_url, params=params)
                page = self._check(response, session.where)
                items.extend(self.item(raw) for raw in page if self.settings.pull_requests or "pull_request" not in raw)
                next_url = response.links.get("next", {}).get("url")
                params = None  # the next link carries every parameter
        newest = max((i.updated_at for i in items if i.updated_at), default=None)
        since = newest.strftime("%Y-%m-%dT%H:%M:%SZ") if newest else cursor.get("since")
        new_cursor: Cursor = {"etag": probe.headers.get("etag"), "since": since}
        return ImportBatch(items, new_cursor, requests=session.requests, waits=tuple(session.waits))

    def _check(self, response: httpx.Response, where: str) -> list[dict[str, Any]]:
        body = json_body(response, where) if response.content else []
        if response.status_code != 200:
            detail = str(body.get("message", "")) if isinstance(body, dict) else ""
            raise refuse(
                response,
                where,
                detail,
                auth_hint=t("okr_work.github.auth_hint", variable=self.settings.token_env or "GITHUB_TOKEN"),
            )
        if not isinstance(body, list):
            raise WorkImportError(t("okr_work.bad_shape", what="issue list"), where=where)
        return body

    def item(self, raw: dict[str, Any]) -> WorkItem:
        """One issue or pull request as a work item."""
        pull = raw.get("pull_request")
        labels = tuple(
            str(label.get("name", "")) if isinstance(label, dict) else str(label) for label in raw.get("labels") or ()
        )
        state = str(raw.get("state") or "")
        if pull is not None:
            merged = bool(pull.get("merged_at"))
            status, done = ("merged" if merged else state), merged
        else:
            reason = raw.get("state_reason")
            done = state == "closed" and reason not in NOT_DONE_REASONS
            status = str(reason) if state == "closed" and reason in NOT_DONE_REASONS else state
        assignee = raw.get("assignee") or {}
        return WorkItem(
            source=self.source, external_id=f"{self.settings.repo}#{raw['number']}",
            title=str(raw.get("title") or ""), status=status, done=done, points=self._points(labels),
            labels=labels, url=raw.get("html_url"), assignee=assignee.get("login") or None,
            updated_at=parse_time(raw.get("updated_at")), kind="pull_request" if pull is not None else "issue",
        )  # fmt: skip

    def _points(self, labels: tuple[str, ...]) -> float | None:
        prefix = self.settings.points_label_prefix
        if not prefix:
            return None
        for label in labels:
            if label.lower().startswith(prefix.lower()):
                try:
                    return float(label[len(prefix) :].strip())
                except ValueError:
                    continue
        return None


def _wait_for(response: httpx.Response, attempt: int) -> float | None:
    """GitHub's primary and secondary rate limits (403 or 429); a 403 without them is a permission error."""
    if response.status_code not in (403, 429):
        return None
    wait = retry_after(response)
    if wait is not None:
        return wait
    headers = response.headers
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
        return max(0.0, int(headers["x-ratelimit-reset"]) - time.time()) + 1.0
    if response.status_code == 429 or "rate limit" in response.text.lower():
        return SECONDARY_WAIT_S * 2.0**attempt
    return None
