"""The dashboard's tests hash passwords with a cheap argon2 (the real cost is ~0.5 s a sign-in on a busy machine),
and run pages wait for their figures (a busy machine may take more than the second a page usually waits; the
background path has its own test, tests/web/test_web_runsoon.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from andon.web import runfigures, users


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    real = users.HASHER
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users.HASHER = real


@pytest.fixture(scope="session", autouse=True)
def _figures_waited_for() -> Iterator[None]:
    real = runfigures.WAIT_S
    runfigures.WAIT_S = 300.0
    yield
    runfigures.WAIT_S = real
