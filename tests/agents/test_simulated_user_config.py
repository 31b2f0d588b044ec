"""A dataset's simulated-user settings: checked when the dataset loads, errors naming file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from andon.agents.simulated_user import instructions, transcript
from andon.config.simulated_user import SimulatedUser, parse_simulated_user
from andon.errors import ConfigError
from andon.evals.dataset import load_dataset


def load(root: Path, text: str) -> list[dict[str, object]]:
    (root / "cases.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return [dict(c.vars) for c in load_dataset(Path("cases.yaml"), root).cases]


def test_a_case_keeps_its_user_normalised_and_the_dataset_default_fills_the_rest(tmp_path: Path) -> None:
    variables = load(
        tmp_path,
        """\
        simulated_user: {model: local, persona: a first-time seller, goal: sell a bike}
        cases:
          - id: a
            simulated_user: {goal: get a refund, max_turns: 3, stop_when: the refund is confirmed}
          - id: scripted
            vars: {turns: [hello]}
          - id: b
        """,
    )
    assert variables[0]["simulated_user"] == {
        "model": "local",
        "persona": "a first-time seller",
        "goal": "get a refund",
        "max_turns": 3,
        "stop_when": "the refund is confirmed",
    }
    assert "simulated_user" not in variables[1]  # a scripted case keeps its turns
    assert variables[2]["simulated_user"]["goal"] == "sell a bike" and variables[2]["simulated_user"]["max_turns"] == 6


@pytest.mark.parametrize(
    ("user", "field"),
    [
        ("{model: local, persona: p, goal: g, max_turns: 0}", "simulated_user.max_turns"),
        ("{model: local, persona: p, goal: g, max_turn: 3}", "simulated_user.max_turn"),
        ("{persona: p, goal: g}", "simulated_user.model"),
        ("{model: local, persona: p}", "simulated_user.goal"),
        ("{model: local, persona: p, goal: g, temperature: 5}", "simulated_user.temperature"),
        ("just text", "simulated_user"),
    ],
)
def test_a_bad_setting_names_the_file_line_and_field(tmp_path: Path, user: str, field: str) -> None:
    text = f"""\
    cases:
      - id: fine
        simulated_user: {{model: local, persona: p, goal: g}}
      - id: bad
        simulated_user: {user}
    """
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.where == f"{tmp_path / 'cases.yaml'}:4: {field}"


def test_turns_and_a_simulated_user_together_are_refused(tmp_path: Path) -> None:
    text = """\
    - id: both
      vars: {turns: [hi]}
      simulated_user: {model: local, persona: p, goal: g}
    """
    with pytest.raises(ConfigError, match="turns") as caught:
        load(tmp_path, text)
    assert caught.value.where is not None and caught.value.where.endswith("cases.yaml:1: simulated_user")


def test_a_csv_cell_holds_the_user_as_json(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(
        'id,simulated_user\nc1,"{""model"": ""stub/m"", ""persona"": ""p"", ""goal"": ""g""}"\n', encoding="utf-8"
    )
    case = load_dataset(Path("cases.csv"), tmp_path).cases[0]
    assert case.vars["simulated_user"]["model"] == "stub/m"


def test_model_names_a_provider_and_optionally_its_model() -> None:
    user = parse_simulated_user({"model": "openai/gpt-4o-mini", "persona": "p", "goal": "g"}, "x")
    assert (user.provider, user.model) == ("openai", "gpt-4o-mini")
    assert parse_simulated_user(user.to_json(), "x") == user
    assert parse_simulated_user({"provider": "local", "persona": "p", "goal": "g"}, "x").model is None


def test_the_user_model_is_told_its_persona_goal_and_stop_condition() -> None:
    user = SimulatedUser("local", None, "a buyer", "track the parcel", stop_when="a tracking number is given")
    text = instructions(user)
    assert "a buyer" in text and "track the parcel" in text and "a tracking number is given" in text
    history = [{"role": "user", "content": "where is it"}, {"role": "assistant", "content": [{"text": "in Busan"}]}]
    said = transcript(history)
    assert "where is it" in said and "in Busan" in said and said.index("where is it") < said.index("in Busan")
    assert transcript([]) != said
