"""Dashboard users: argon2 password hashes, roles that mirror the API key scopes, and a lock-out.

``viewer`` reads every page; ``reviewer`` also decides review items and pulls the cord (the ``review``
scope) and checks in key results (the ``okr`` scope); ``admin`` may do everything (the ``admin`` scope):
promote, roll back, create API keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from andon.errors import AndonError, ConfigError
from andon.gateway.auth import allows
from andon.messages import t
from andon.store import Store
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.store.web import WebUser

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "reviewer": frozenset({"review", "okr"}),  # the people who do the work report its key results' progress
    "admin": frozenset({"admin"}),
}
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; this keeps a hostile form post from costing much
# argon2id with the library's defaults (RFC 9106's second recommendation); the tests put a cheaper one here.
HASHER = PasswordHasher()


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong password."""
    return hasher.hash("andon: no such user")


@dataclass(frozen=True, slots=True)
class Lockout:
    """After ``limit`` failed sign-ins in a row, the user is locked for ``duration``."""

    limit: int = 5
    duration: timedelta = timedelta(minutes=15)


class SignInError(AndonError):
    """A sign-in was refused: a wrong name or password (never saying which), a locked or disabled user."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


def scopes_of(role: str) -> frozenset[str]:
    """The API key scopes a role grants."""
    return ROLES.get(role, frozenset())


def may(role: str, scope: str) -> bool:
    """Whether ``role`` may do what ``scope`` guards (``admin`` may do everything)."""
    return allows(scopes_of(role), scope)


def check_role(role: str) -> str:
    """``role`` if known, else a ConfigError listing the roles."""
    if role not in ROLES:
        raise ConfigError(t("web.user.unknown_role", role=role), where="--role", hint=", ".join(ROLES))
    return role


def add_user(store: Store, name: str, password: str, role: str) -> WebUser:
    """Store a new user with an argon2 hash of ``password``."""
    name = name.strip()
    if not name or len(name) > 200 or any(c.isspace() for c in name):
        raise ConfigError(t("web.user.bad_name"), where="NAME", hint=t("web.user.bad_name_hint"))
    if len(password) < MIN_PASSWORD:
        raise ConfigError(t("web.user.short_password", n=MIN_PASSWORD), where="password")
    if len(password) > MAX_PASSWORD:
        raise ConfigError(t("web.user.long_password", n=MAX_PASSWORD), where="password")
    return store.add_web_user(
        user_id=new_id("usr"), name=name, role=check_role(role), password_hash=HASHER.hash(password)
    )


def authenticate(store: Store, name: str, password: str, lockout: Lockout, *, language: str | None = None) -> WebUser:
    """The user if ``password`` is theirs; a SignInError otherwise, counting the failure towards the lock-out."""
    user = store.web_user_by_name(name.strip()) if name.strip() else None
    wrong = SignInError(t("web.signin.wrong", language=language))
    if user is None or len(password) > MAX_PASSWORD:
        _verify(_dummy_hash(HASHER), password[:MAX_PASSWORD])
        raise wrong
    if not user.active:
        _verify(_dummy_hash(HASHER), password)
        raise wrong  # a disabled user learns nothing more than a stranger would
    if user.locked_until is not None and user.locked_until > utcnow():
        raise SignInError(t("web.signin.locked", language=language), locked=True)
    if not _verify(user.password_hash, password):
        after = store.note_failed_login(user.id, limit=lockout.limit, lock_for=lockout.duration)
        if after.locked_until is not None and after.locked_until > utcnow():
            raise SignInError(t("web.signin.locked", language=language), locked=True)
        raise wrong
    rehashed = HASHER.hash(password) if HASHER.check_needs_rehash(user.password_hash) else None
    store.note_login(user.id, rehashed)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
