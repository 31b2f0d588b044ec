"""Gateway, watch, cli and deploy errors read in Korean under ``ko`` and word for word as before in English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from andon.cli.call_cmds import parse_vars
from andon.errors import AndonError, ConfigError
from andon.gateway.auth import check_scopes
from andon.gateway.fetch import _target
from andon.messages import set_language
from andon.watch.detectors.base import build_detector


@pytest.fixture
def korean() -> Iterator[None]:
    set_language("ko")
    try:
        yield
    finally:
        set_language(None)


def test_a_detector_setting_in_the_wrong_order_names_the_field_in_english() -> None:
    with pytest.raises(ConfigError) as bad:
        build_detector({"type": "robust-z", "warn_z": 9, "fail_z": 3})
    assert bad.value.message == "warn_z must not exceed fail_z"


def test_a_detector_setting_in_the_wrong_order_reads_in_korean(korean: None) -> None:
    with pytest.raises(ConfigError) as bad:
        build_detector({"type": "robust-z", "warn_z": 9, "fail_z": 3})
    assert bad.value.message == "warn_z는 fail_z보다 클 수 없습니다"
    assert bad.value.hint == "탐지기 유형 'robust-z'의 설정을 확인하세요"


@pytest.mark.parametrize(
    ("call", "english", "korean"),
    [
        (lambda: parse_vars(["novalue"], None), "--var 'novalue' is not key=value", "--var 'novalue'는 key=value"),
        (lambda: check_scopes(["nope"]), "unknown scope(s) nope", "알 수 없는 권한 범위: nope"),
        (lambda: _target("ftp://example.com/a.png"), "not ftp", "받은 것: ftp"),
        (lambda: _target("http://u:p@example.com/a.png"), "user name or password", "비밀번호가 들어 있는"),
    ],
)
def test_user_errors_read_in_either_language(call: object, english: str, korean: str) -> None:
    assert callable(call)
    with pytest.raises(AndonError) as first:
        call()
    assert english in first.value.message
    set_language("ko")
    try:
        with pytest.raises(AndonError) as second:
            call()
    finally:
        set_language(None)
    assert korean in second.value.message and english not in second.value.message
