"""A workspace with a `sentiment` feature like the one in issue 16: labels from the dataset, a typed output schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from andon.review.queue import ReviewItem

SENTIMENT_YAML = """\
name: review-sentiment
features:
  sentiment:
    dataset: data/reviews.yaml
    graders:
      - {type: label, path: sentiment}
    versions:
      v1:
        python: sentiment_rules:answer
        output_schema:
          type: object
          properties:
            sentiment: {type: string}
            reply: {type: string, minLength: 1}
            tone: {enum: [warm, formal]}
          required: [sentiment, reply]
  rating:
    graders:
      - {type: label, path: stars}
    versions:
      v1:
        python: sentiment_rules:answer
        output_schema:
          type: object
          properties:
            stars: {enum: ["1", "2", "3", "4", "5"]}
  free:
    graders:
      - {type: label}
    versions:
      v1: {python: sentiment_rules:answer}
"""

# The feature's own dataset: YAML with comments (labels come from here: positive, negative, neutral).
REVIEWS_YAML = """\
# Customer reviews of the delivery app, labelled by the CS team.
- id: r1
  vars: {text: "빨리 왔어요, 맛있어요"}
  label: positive   # clearly happy
- id: r2
  vars: {text: "국이 다 식어서 왔어요"}
  label: negative
# neutral ones are rare
- id: r3
  vars: {text: "보통이에요"}
  label: neutral
"""

RULES = "def answer(variables):\n    return {'sentiment': 'negative', 'reply': '죄송합니다. 다시 보내 드릴게요.'}\n"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def write_sentiment_workspace(folder: Path) -> Path:
    """andon.yaml, the rules module and data/reviews.yaml in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(SENTIMENT_YAML, encoding="utf-8")
    (folder / "sentiment_rules.py").write_text(RULES, encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "reviews.yaml").write_text(REVIEWS_YAML, encoding="utf-8")
    return folder


def sentiment_item(n: int, *, feature: str = "sentiment", **fields: Any) -> ReviewItem:
    """A queued item ``n`` minutes after T0 whose AI answer is negative with a reply."""
    answer = {"sentiment": "negative", "reply": "죄송합니다. 다시 보내 드릴게요."}
    values: dict[str, Any] = {
        "input": {"text": f"리뷰 {n}: 국이 식었어요"},
        "suggestion_json": answer,
        "created_at": T0 + timedelta(minutes=n),
        **fields,
    }
    return ReviewItem.new(feature, "low_confidence", **values)
