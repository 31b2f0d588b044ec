"""A conversation step: messages from a variable (roles, image parts), part of the version id, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from andon.config.conversation import messages_variable
from andon.config.schema import Step, VersionSpec, WorkspaceConfig
from andon.errors import TemplateError
from andon.providers.base import ImagePart, TextPart
from andon.versions.canonical import build_version, version_from_content
from andon.versions.render import render_messages, step_variables

PNG = "data:image/png;base64,iVBORw0KGgo="
HISTORY: list[dict[str, Any]] = [
    {"role": "developer", "content": "answer in Korean"},
    {"role": "user", "content": "배송이 늦어요"},
    {"role": "assistant", "content": "주문 번호를 알려 주세요"},
    {"role": "user", "content": [{"type": "text", "text": "이거요"}, {"type": "image_url", "image_url": {"url": PNG}}]},
]


def config() -> WorkspaceConfig:
    return WorkspaceConfig.model_validate(
        {
            "andon": 1,
            "name": "t",
            "providers": {"m": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "x"}},
        }
    )


def test_messages_come_from_the_variable_in_order_with_roles_and_images() -> None:
    step = Step(system="You are support.", messages="{{ history }}")
    assert step_variables(step) == {"history"}
    messages = render_messages(step, {"history": HISTORY})
    assert [m.role for m in messages] == ["system", "system", "user", "assistant", "user"]
    assert messages[0].text == "You are support." and messages[2].text == "배송이 늦어요"
    assert messages[4].content == (TextPart("이거요"), ImagePart(PNG))


def test_a_prompt_after_the_history_is_one_more_user_turn() -> None:
    step = Step(messages="{{history}}", prompt="Reply to {{ name }}.")
    messages = render_messages(step, {"history": HISTORY[1:2], "name": "민지"})
    assert [(m.role, m.text) for m in messages] == [("user", "배송이 늦어요"), ("user", "Reply to 민지.")]
    assert step_variables(step) == {"history", "name"}


def test_messages_are_part_of_the_version_id() -> None:
    plain = build_version("f", "a", VersionSpec(prompt="{{ input }}"), config())
    conversation = build_version("f", "b", VersionSpec(messages="{{ history }}"), config())
    other_variable = build_version("f", "c", VersionSpec(messages="{{ chat }}"), config())
    assert len({plain.id, conversation.id, other_variable.id}) == 3
    assert conversation.content["steps"][0]["messages"] == "{{ history }}"
    rebuilt = version_from_content("f", "b", conversation.content)
    assert rebuilt.id == conversation.id and rebuilt.steps[0].messages == "{{ history }}"


@pytest.mark.parametrize("reference", ["history", "{{ history | upper }}", "{{ a }}{{ b }}", "{{ 1 }}"])
def test_a_reference_that_is_not_one_variable_is_refused(reference: str) -> None:
    with pytest.raises(ValidationError, match="names one variable"):
        Step(messages=reference)


def test_python_steps_take_no_messages() -> None:
    with pytest.raises(ValidationError, match="no `messages`"):
        Step(python="pkg.mod:fn", messages="{{ history }}")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("just text", "must be a list of messages"),
        ([], "holds no messages"),
        (["hi"], "message 0"),
        ([{"role": "tool", "content": "42"}], "role 'tool'"),
        ([{"role": "user", "content": [{"type": "audio"}]}], "part type 'audio'"),
        ([{"role": "user", "content": 3}], "must be text or a list of parts"),
    ],
)
def test_bad_histories_name_the_message_and_the_fix(value: Any, fragment: str) -> None:
    with pytest.raises(TemplateError, match=fragment) as bad:
        render_messages(Step(messages="{{ history }}"), {"history": value}, where="features.f.versions.v")
    assert bad.value.where == "features.f.versions.v.messages"


def test_a_missing_history_says_what_the_case_provides() -> None:
    with pytest.raises(TemplateError, match="'history' is missing") as missing:
        render_messages(Step(messages="{{ history }}"), {"input": "x"})
    assert "input" in (missing.value.hint or "")


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True), st.sampled_from(["", " ", "  "]))
def test_any_identifier_round_trips(name: str, pad: str) -> None:
    assert messages_variable("{{" + pad + name + pad + "}}") == name


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.text(max_size=30)), min_size=1))
def test_text_histories_keep_every_message_exactly(turns: list[tuple[str, str]]) -> None:
    history = [{"role": role, "content": text} for role, text in turns]
    messages = render_messages(Step(messages="{{ history }}"), {"history": history})
    assert [{"role": m.role, "content": m.text} for m in messages] == history
