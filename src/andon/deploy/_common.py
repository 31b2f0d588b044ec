"""What every deploy action needs: the feature's config, who acts, and a cleaned reason."""

from __future__ import annotations

import getpass
import os
import subprocess

from andon.config.schema import FeatureConfig
from andon.errors import ConfigError
from andon.messages import t
from andon.workspace import Workspace

MAX_REASON = 2000


def default_actor() -> str:
    """Who is acting: $USER (or $LOGNAME), else ``git config user.name``, else the login name."""
    for name in ("USER", "LOGNAME"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        found = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if found:
        return found
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def require_feature(ws: Workspace, feature: str) -> FeatureConfig:
    """The feature's config, or a NotFoundError that lists the known ones."""
    return ws.feature(feature)


def actor_name(actor: str | None) -> str:
    """The given actor, else the default one; refused when too long to store."""
    value = (actor or "").strip() or default_actor()
    if len(value) > 200:
        raise ConfigError(t("house3.deploy.actor_long", limit=200), where="--actor")
    return value


def clean_reason(reason: str | None) -> str | None:
    """The reason stripped, None when blank; refused when longer than ``MAX_REASON``."""
    if reason is None or not reason.strip():
        return None
    if len(reason) > MAX_REASON:
        raise ConfigError(t("house3.deploy.reason_long", length=len(reason), limit=MAX_REASON), where="--reason")
    return reason.strip()
