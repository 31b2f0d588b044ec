"""What the route modules share: the app's gateway and store, and how a call's result becomes a response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from andon.errors import NotFoundError
from andon.gateway.auth import allows
from andon.gateway.http_errors import ApiError
from andon.gateway.reload import gateway_of, workspace_of
from andon.gateway.types import Caller, InvokeResult
from andon.messages import t
from andon.store import Store
from andon.store.watch import STOPPED_CODE
from andon.workspace import Workspace

if TYPE_CHECKING:
    from andon.gateway.service import Gateway


def request_gateway(request: Request) -> Gateway:
    """The app's gateway."""
    gateway: Gateway = gateway_of(request)
    return gateway


def request_store(request: Request) -> Store:
    """The app's workspace store."""
    workspace: Workspace = workspace_of(request)
    return workspace.store


# Result error codes that mean "the provider cannot answer now" (503) rather than "answered badly" (502).
_UNAVAILABLE = frozenset({"provider_unavailable", "provider_timeout", "circuit_open", "rate_limited"})


def raise_for_result(result: InvokeResult) -> None:
    """An error result (the provider failed and the fallback could not answer) becomes an API error."""
    if result.status != "error":
        return
    if result.error_code == STOPPED_CODE:
        raise ApiError(
            STOPPED_CODE,
            result.error or t("cordroute.stopped_off", feature=result.feature, reason="-"),
            hint=t("cordroute.stopped_hint", feature=result.feature),
            headers={"x-should-retry": "false"},  # stopped until someone (or its monitor) resumes it
            extra={"route": result.route},
        )
    code = "provider_unavailable" if result.error_code in _UNAVAILABLE else "provider_error"
    extra: dict[str, Any] = {"route": result.route}
    if result.error_code and result.error_code != code:
        extra["reason"] = result.error_code
    raise ApiError(
        code,
        result.error or t("house3.http.no_answer"),
        hint=t("house3.http.no_answer_hint"),
        headers={"x-should-retry": "false"},  # the gateway has retried already
        extra=extra,
    )


def may_see_names(caller: Caller) -> bool:
    """Whether errors may list the workspace's features, versions and models to this caller (admin keys only)."""
    return allows(caller.scopes, "admin")


async def invoke_feature(
    request: Request, feature: str, variables: dict[str, Any], caller: Caller, version: str | None
) -> InvokeResult:
    """``gateway.invoke``; a missing version is a ``not_found`` that lists the known ones to admin keys only."""
    try:
        result: InvokeResult = await gateway_of(request).invoke(
            feature, variables, caller, version=version, received_at=request.state.received_at
        )
    except NotFoundError:
        if may_see_names(caller):
            raise
        message = t("http.no_version", feature=feature, version=version) if version else t("http.nothing_live")
        raise ApiError("not_found", message, hint=t("http.ask_admin")) from None
    return result
