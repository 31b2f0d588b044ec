"""Where a provider answers from: the endpoint identity that shapes answers, and URLs safe to show.

A provider's base URL and the options that change what it answers (extra body, model-selecting headers,
weights file) are part of a version's id, so pointing a provider elsewhere makes a new version and never
reuses the old server's cached answers. Credentials are never part of it, and never shown.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from andon.config.schema import ProviderConfig

MASK = "***"

# Options that change speed, not answers: left out of the identity so tuning them keeps the version.
PERFORMANCE_OPTIONS = frozenset({"n_threads", "n_batch"})

# Header and query names whose values are credentials, never identity (matched case-insensitively).
_SECRET_NAME = re.compile(
    r"(auth|key|token|secret|passw|signature|sig$|^sig|credential|cookie|session|^code$)", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    return bool(_SECRET_NAME.search(name))


def _split(url: str) -> tuple[str, str, str, str, str, str] | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None
    return parts.scheme, host, port, parts.path, parts.query, parts.fragment


def masked_url(url: str) -> str:
    """``url`` with userinfo and every query value replaced by ``***``: safe in any message or log."""
    split = _split(url)
    if split is None:
        return MASK
    scheme, host, port, path, query, fragment = split
    netloc = (f"{MASK}@" if "@" in urlsplit(url).netloc else "") + host + port
    masked_query = urlencode([(k, MASK) for k, _ in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((scheme, netloc, path, masked_query, fragment))


def public_url(url: str) -> str:
    """``url`` without credentials: userinfo dropped, secret-looking query values masked, others kept."""
    split = _split(url)
    if split is None:
        return MASK
    scheme, host, port, path, query, fragment = split
    pairs = [(k, MASK if is_secret_name(k) else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return urlunsplit((scheme, host + port, path.rstrip("/"), urlencode(pairs, safe="*"), fragment))


def url_secrets(url: str | None) -> list[str]:
    """The credential substrings of ``url`` (password, username, every query value) to scrub from text."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        found = [parts.password or "", parts.username or ""]
    except ValueError:
        return [url]
    found += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    # Longest first, so a secret that contains another is replaced whole.
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret in ``secrets`` replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def endpoint_identity(config: ProviderConfig) -> dict[str, Any]:
    """What about a provider shapes its answers, without credentials; empty for a default endpoint."""
    identity: dict[str, Any] = {}
    if config.base_url:
        identity["base_url"] = public_url(config.base_url)
    options: dict[str, Any] = {}
    for name, value in sorted(config.options.items()):
        if name in PERFORMANCE_OPTIONS:
            continue
        if name == "headers" and isinstance(value, dict):
            headers = {str(k).lower(): str(v) for k, v in value.items() if not is_secret_name(str(k))}
            if headers:
                options["headers"] = dict(sorted(headers.items()))
            continue
        options[name] = value
    if options:
        identity["options"] = options
    return identity
