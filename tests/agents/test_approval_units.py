"""The pieces of tool approval that need no server: reading a form's arguments, checking edits against the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.tools import ToolSpec
from andon.engine.approval import check_arguments
from andon.errors import ConfigError
from andon.review.queue import ReviewItem
from andon.review.tool_approval import edited_arguments

ASKED = {"order_id": "A1", "amount": 90000}
ITEM = ReviewItem.new("refunds", "tool_approval", suggestion_json={"tool": "refund", "arguments": ASKED})
REFUND = ToolSpec(
    name="refund",
    python="shop:refund",
    approval="human",
    parameters={
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "integer", "minimum": 1}},
        "required": ["order_id", "amount"],
        "additionalProperties": False,
    },
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@given(JSON)
def test_a_form_is_an_edit_exactly_when_its_arguments_differ_from_the_asked_ones(value: Any) -> None:
    status, arguments = edited_arguments(ITEM, json.dumps(value))
    if value == ASKED:
        assert (status, arguments) == ("approved", None)
    else:
        assert (status, arguments) == ("edited", value)


def test_the_asked_arguments_reformatted_are_an_approval_and_an_empty_form_too() -> None:
    assert edited_arguments(ITEM, json.dumps(ASKED, indent=4)) == ("approved", None)
    assert edited_arguments(ITEM, "  ") == ("approved", None)
    with pytest.raises(ConfigError, match="not valid JSON"):
        edited_arguments(ITEM, '{"amount": ')


@given(st.dictionaries(st.sampled_from(["order_id", "amount", "extra"]), JSON, max_size=3))
def test_check_arguments_accepts_exactly_what_the_schema_does(value: dict[str, Any]) -> None:
    fits = (
        set(value) == {"order_id", "amount"}
        and isinstance(value["order_id"], str)
        and type(value["amount"]) is int
        and value["amount"] >= 1
    )
    if fits:
        assert check_arguments(REFUND, value) == value
    else:
        with pytest.raises(ConfigError) as raised:
            check_arguments(REFUND, value)
        assert raised.value.where is not None and raised.value.where.startswith("arguments")


def test_a_tool_without_approval_is_the_default() -> None:
    assert ToolSpec(name="t", python="m:f").approval == "none"
    with pytest.raises(ValueError, match="approval"):
        ToolSpec(name="t", python="m:f", approval="maybe")  # type: ignore[arg-type]
