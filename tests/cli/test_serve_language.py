"""`andon --lang ko serve --workers 2`: the language reaches every worker process without the environment."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.messages import set_language, t


class KoreanGateway(GatewayServer):
    """The gateway started with ``--lang ko`` on the command line while ``ANDON_LANG`` says English."""

    def command(self) -> list[str]:
        args = super().command()
        return [*args[:3], "--lang", "ko", *args[3:]]


def test_workers_answer_in_the_language_of_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    with (
        KoreanGateway(ws, database_url=url, workers=2, env={"ANDON_LANG": "en"}) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        answers = [http.post("/v1/features/nope/invoke", json={}, timeout=30).json() for _ in range(4)]
    korean = t("http.no_feature", language="ko", feature="nope")
    assert korean != t("http.no_feature", language="en", feature="nope")
    assert all(korean in str(answer) for answer in answers), answers


def test_set_language_wins_over_the_environment_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_LANG", "en")
    try:
        assert set_language("ko_KR.UTF-8") == "ko"
        assert t("http.no_feature", feature="x") == t("http.no_feature", language="ko", feature="x")
        assert set_language("xx") == "en"  # an unknown code is English, as in ANDON_LANG
    finally:
        assert set_language(None) == "en"
    monkeypatch.setenv("ANDON_LANG", "ko")
    assert set_language(None) == "ko"
