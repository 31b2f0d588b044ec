"""``logprob:PATH``: the confidence of an answer's value from its tokens' log-probabilities, however they split."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import FeatureConfig
from andon.evals.confidence import confidence_points, default_source, parse_source
from andon.evals.logprob_confidence import span_confidence
from andon.evals.model import CellResult


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@given(
    st.sampled_from(["approve", "reject", "반려", "승인 보류"]),
    st.lists(st.integers(0, 200), max_size=12),
    st.lists(st.floats(-5, 0), min_size=60, max_size=60),
)
def test_the_value_tokens_alone_make_the_confidence(value: str, cuts: list[int], logprobs: list[float]) -> None:
    text = json.dumps({"violations": ["decision"], "decision": value}, ensure_ascii=False)
    pieces = _split(text.encode("utf-8"), cuts)
    tokens = [{"token": p.decode("utf-8", "replace"), "logprob": logprobs[i % 60], "bytes": list(p)}
              for i, p in enumerate(pieces)]  # fmt: skip
    # By hand: the byte span of the value after its key, and the tokens overlapping it.
    data = text.encode("utf-8")
    start = data.index(value.encode("utf-8"), data.index(b'"decision":'))
    end, offset, total = start + len(value.encode("utf-8")), 0, 0.0
    for token in tokens:
        if offset < end and offset + len(token["bytes"]) > start:
            total += token["logprob"]
        offset += len(token["bytes"])
    got = span_confidence(text, tokens, "decision", value)
    assert got == pytest.approx(math.exp(total)) and 0.0 < got <= 1.0  # the earlier "decision" string is skipped


def test_tokens_that_stop_short_of_the_value_say_nothing() -> None:
    text = '{"decision": "reject"}'
    assert span_confidence(text, [{"token": '{"decision": "re', "logprob": -0.1}], "decision", "reject") is None
    assert span_confidence(text, [], "label", "reject") is None


def _cell(output: dict[str, str], steps: list[dict[str, object]], passed: bool = True) -> CellResult:
    return CellResult(
        run_id="r", version_id="v", version_name="v", case_id="c", repeat=0, output_id="o", status="ok",
        score=float(passed), passed=passed, output_json=output, provenance={"steps": steps},
    )  # fmt: skip


def test_the_last_model_step_speaks_and_a_rule_alone_is_certain() -> None:
    text = '{"decision": "reject"}'
    tokens = [{"token": '{"decision": "', "logprob": -0.01}, {"token": "reject", "logprob": math.log(0.8)},
              {"token": '"}', "logprob": -0.02}]  # fmt: skip
    model = _cell({"decision": "reject"}, [{"name": "precheck", "finished": False}, {"text": text, "logprobs": tokens}])
    rule = _cell({"decision": "reject"}, [{"name": "precheck", "finished": True, "text": None}], passed=False)
    silent = _cell({"decision": "approve"}, [{"text": '{"decision": "approve"}'}])  # logprobs not asked for
    points, skipped = confidence_points([model, rule, silent], "logprob:decision")
    assert [(p.confidence, p.correct) for p in points] == [(pytest.approx(0.8), True), (1.0, False)]
    assert skipped == 1
    feature = FeatureConfig.model_validate({"graders": [{"type": "label", "path": "decision"}], "versions": {}})
    assert default_source(feature, [model, silent]) == "logprob:decision"
    assert default_source(feature, [silent]) is None
    assert parse_source("logprob:decision") == ("logprob", "decision")
