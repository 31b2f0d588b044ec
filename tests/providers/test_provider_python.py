"""The python provider: real modules written to disk and imported by dotted path."""

from __future__ import annotations

import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from andon.config.schema import Params, ProviderConfig
from andon.errors import ConfigError, ProviderError
from andon.providers.base import ProviderRequest, ProviderResponse
from andon.providers.python import Finish, PythonProvider
from andon.providers.registry import build_provider

RULES = """
import asyncio
import threading

from andon.errors import ProviderError
from andon.providers.base import ProviderRequest, ProviderResponse
from andon.providers.python import Finish

CALLS = []


def shout(variables):
    return variables["text"].upper()


def verdict(variables):
    return {"label": "흐림", "score": variables["score"], "tags": ["menu"]}


def reject_blurry(variables):
    if variables["blur"] < 10:
        return Finish({"approved": False}, reason="blurry photo")
    return variables


def broken(variables):
    return variables["missing"]


async def slow_upper(variables):
    await asyncio.sleep(0)
    return variables["text"].upper()


def which_thread(variables):
    return threading.get_ident()


def as_text(variables):
    return variables["text"]


def flaky(variables):
    CALLS.append(1)
    raise ProviderError("upstream said try later", retryable=True)


def unserialisable(variables):
    return {"when": object()}

NOT_A_FUNCTION = 3
"""


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh module of rule functions on sys.path; returns its name."""
    name = f"andon_rules_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(RULES), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def provider(**options: object) -> PythonProvider:
    return PythonProvider("rules", ProviderConfig(type="python", options=options))


async def call(
    path: str, variables: dict[str, object], *, json_mode: bool = False, **options: object
) -> ProviderResponse:
    request = ProviderRequest(model=path, messages=(), variables=variables, params=Params(json_mode=json_mode))
    return await provider(**options).complete(request)


async def test_str_becomes_text(rules: str) -> None:
    response = await call(f"{rules}:shout", {"text": "menu"})
    assert response.text == "MENU"
    assert response.parsed is None
    assert response.model == f"{rules}:shout"
    assert response.finished is False


async def test_dict_becomes_parsed_and_json_text(rules: str) -> None:
    response = await call(f"{rules}:verdict", {"score": 0.5})
    assert response.parsed == {"label": "흐림", "score": 0.5, "tags": ["menu"]}
    assert response.text == '{"label": "흐림", "score": 0.5, "tags": ["menu"]}'


async def test_finish_ends_the_pipeline_with_its_output(rules: str) -> None:
    stopped = await call(f"{rules}:reject_blurry", {"blur": 3})
    passed = await call(f"{rules}:reject_blurry", {"blur": 900})
    assert stopped.finished is True
    assert stopped.parsed == {"approved": False}
    assert stopped.finish_reason == "blurry photo"
    assert passed.finished is False and passed.parsed == {"blur": 900}


def test_finish_is_a_frozen_value() -> None:
    finish = Finish("done")
    assert finish.reason is None
    with pytest.raises(AttributeError):
        finish.output = "other"  # type: ignore[misc]


async def test_exception_becomes_a_non_retryable_provider_error(rules: str) -> None:
    with pytest.raises(ProviderError) as caught:
        await call(f"{rules}:broken", {})
    error = caught.value
    assert error.retryable is False
    assert error.where == f"{rules}:broken"
    assert error.message == "KeyError: 'missing'"
    assert isinstance(error.__cause__, KeyError)


async def test_async_function_is_awaited_and_sync_one_runs_off_the_loop(rules: str) -> None:
    response = await call(f"{rules}:slow_upper", {"text": "abc"})
    thread = await call(f"{rules}:which_thread", {})
    assert response.text == "ABC"
    assert thread.parsed != threading.get_ident()


async def test_json_asked_of_a_str_result_is_parsed(rules: str) -> None:
    response = await call(f"{rules}:as_text", {"text": '{"a": [1, 2]}'}, json_mode=True)
    assert response.parsed == {"a": [1, 2]}


async def test_unserialisable_result_is_a_provider_error(rules: str) -> None:
    with pytest.raises(ProviderError, match="not JSON-serialisable"):
        await call(f"{rules}:unserialisable", {})


@pytest.mark.parametrize(
    ("suffix", "fragment"),
    [
        ("_nowhere:fn", "cannot import module"),
        (":no_such_function", "has no attribute 'no_such_function'"),
        (":NOT_A_FUNCTION", "not a function"),
    ],
)
async def test_bad_paths_are_config_errors_naming_the_path(rules: str, suffix: str, fragment: str) -> None:
    path = f"{rules}{suffix}"
    with pytest.raises(ConfigError) as caught:
        await call(path, {})
    assert caught.value.where == path
    assert fragment in caught.value.message
    assert caught.value.hint


async def test_a_path_without_colon_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a Python function path"):
        await call("os.path.join", {})


async def test_options_function_is_used_when_the_request_names_none(rules: str) -> None:
    response = await call("", {"text": "x"}, function=f"{rules}:shout")
    assert response.text == "X"


async def test_built_python_provider_is_never_retried(rules: str) -> None:
    built = build_provider("rules", ProviderConfig(type="python", max_retries=5))
    request = ProviderRequest(model=f"{rules}:flaky", messages=())
    with pytest.raises(ProviderError, match="try later"):
        await built.complete(request)
    module = __import__(rules)
    assert module.CALLS == [1]
    await built.aclose()
