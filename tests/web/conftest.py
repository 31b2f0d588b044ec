"""The dashboard's tests hash passwords with a cheap argon2 (the real cost is ~0.5 s a sign-in on a busy machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from andon.web import users


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    real = users.HASHER
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users.HASHER = real
