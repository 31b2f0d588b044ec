"""What a decision on a feature's review item must fit: the feature's known labels and its output schema.

The one place decisions are checked: :func:`andon.review.queue.decide` applies these rules for the CLI
(``andon review decide``/``next``), the HTTP route and so the Python client, which calls that route.
Known labels come from the feature's ``label`` graders (``options.labels``, at their ``path``), the labels
of its dataset and the output schema's ``enum``; when none of them names any, every label is accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match

from andon.config.graders import LabelSettings
from andon.config.json_values import split_path
from andon.config.schema import FeatureConfig
from andon.errors import AndonError, ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.graders.values import as_text
from andon.evals.model import Case
from andon.messages import t
from andon.review.answer import FieldPath, dotted, has_value, value_at, with_value
from andon.review.queue import ReviewItem
from andon.versions.canonical import Version, build_version, version_from_content
from andon.workspace import Workspace


class InvalidDecisionError(ConfigError):
    """A decision that does not fit its feature: an unknown label, or an answer outside the output schema."""


@dataclass(frozen=True, slots=True)
class LabelField:
    """Where a label lives in the answer (None: the whole answer is the label) and the labels known there."""

    path: FieldPath | None
    labels: tuple[str, ...] = ()

    def known(self, value: str, where: str) -> str:
        """``value`` in its known spelling (case and outer spaces do not count); refuses an unknown label."""
        if not self.labels:
            return value
        by_fold = {label.casefold(): label for label in self.labels}
        found = by_fold.get(value.strip().casefold())
        if found is not None:
            return found
        close = difflib.get_close_matches(value.strip().casefold(), list(by_fold), n=1, cutoff=0.6)
        message = (
            t("review.decision.unknown_label_close", value=_quoted(value), label=_quoted(by_fold[close[0]]))
            if close
            else t("review.decision.unknown_label", value=_quoted(value))
        )
        raise InvalidDecisionError(
            message, where=where, hint=t("review.decision.labels_hint", labels=", ".join(self.labels))
        )


@dataclass(frozen=True, slots=True)
class DecisionRules:
    """A feature's label fields (the first is where the case's label goes) and the output schema, if any."""

    fields: tuple[LabelField, ...] = ()
    schema: dict[str, Any] | None = None
    schema_where: str | None = None  # which version's schema, for messages
    _validator: Any = field(default=None, repr=False, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        """The known labels of the decision's label (empty: any label)."""
        return self.fields[0].labels if self.fields else ()

    @property
    def label_path(self) -> FieldPath | None:
        """Where the label lives in the answer (None when it is not a field of a JSON answer)."""
        return self.fields[0].path if self.fields else None

    def check(self, decision: dict[str, Any] | None, label: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(label, decision) in the known spellings; raises :class:`InvalidDecisionError` naming the field."""
        primary = self.fields[0] if self.fields else None
        if label is not None and primary is not None:
            label = primary.known(label, "label")
        if decision is None:
            return label, None
        for spot in self.fields:
            if spot.path is None or not has_value(decision, spot.path):
                continue
            value = value_at(decision, spot.path)
            if isinstance(value, dict | list):
                continue  # not a label at all: the schema says what belongs there
            known = spot.known(as_text(value), f"decision.{dotted(spot.path)}")
            if isinstance(value, str) and known != value:
                decision = with_value(decision, spot.path, known)
        if label is not None and primary is not None and primary.path is not None and has_value(decision, primary.path):
            inside = as_text(value_at(decision, primary.path)).strip()
            if inside.casefold() != label.casefold():
                where = f"decision.{dotted(primary.path)}"
                raise InvalidDecisionError(
                    t("review.decision.disagree", label=_quoted(label), field=where, value=_quoted(inside)),
                    where="label",
                    hint=t("review.decision.disagree_hint"),
                )
        self._check_schema(decision)
        return label, decision

    def _check_schema(self, decision: dict[str, Any]) -> None:
        if self._validator is None:
            return
        error = best_match(self._validator.iter_errors(decision))
        if error is None:
            return
        path = [str(p) for p in error.absolute_path]
        problem = error.message
        if error.validator == "enum" and isinstance(error.instance, str):
            options = [str(x) for x in error.validator_value if isinstance(x, str)]
            close = difflib.get_close_matches(error.instance, options, n=1, cutoff=0.6)
            if close:
                problem += " — " + t("review.decision.did_you_mean", label=_quoted(close[0]))
        raise InvalidDecisionError(
            t("review.decision.schema", version=self.schema_where or "?", problem=problem),
            where=".".join(["decision", *path]),
            hint=t("review.decision.schema_hint"),
        )


RulesFor = Callable[[ReviewItem], DecisionRules]


def rules_of(ws: Workspace) -> RulesFor:
    """The rules for any item of ``ws``, each feature and version worked out once (a dataset read once)."""
    made: dict[tuple[str, str | None], DecisionRules] = {}

    def rules(item: ReviewItem) -> DecisionRules:
        key = (item.feature, item.version_id)
        if key not in made:
            made[key] = rules_for(ws, item.feature, item.version_id)
        return made[key]

    return rules


def rules_for(ws: Workspace, feature: str, version_id: str | None) -> DecisionRules:
    """The rules of ``feature`` for an answer of version ``version_id`` (None or unknown: the last declared)."""
    config = ws.config.features.get(feature)
    if config is None:
        return DecisionRules()  # a feature removed from andon.yaml: its queue can still be worked through
    version = _version(ws, feature, config, version_id)
    schema = _final_schema(version) if version is not None else None
    validator = None
    if schema is not None:
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
            validator = cls(schema)
        except SchemaError:
            schema = None  # a broken schema is `andon check`'s to report; the reviewer cannot fix andon.yaml
    cases = _dataset_cases(ws, config)
    graders: list[LabelSettings | None] = [g for g in config.graders if isinstance(g, LabelSettings) and not g.negated]
    spots = tuple(_label_field(spec, schema, cases) for spec in (graders or [None]))
    where = f"features.{feature}.versions.{version.name}" if version is not None else None
    return DecisionRules(spots, schema, where, validator)


def _version(ws: Workspace, feature: str, config: FeatureConfig, version_id: str | None) -> Version | None:
    """The version that answered, from andon.yaml or the store's history; else the last one declared."""
    declared = [build_version(feature, name, spec, ws.config) for name, spec in config.versions.items()]
    if version_id is not None:
        for version in declared:
            if version.id == version_id:
                return version
        try:
            record = ws.store.get_version(feature, version_id)
            return version_from_content(feature, record.name, record.content)
        except AndonError:
            pass  # not stored (a removed workspace history): judge by what andon.yaml declares now
    return declared[-1] if declared else None


def _final_schema(version: Version) -> dict[str, Any] | None:
    """The schema of the answer: the last step's output schema (or its params.json_schema)."""
    last = version.steps[-1] if version.steps else None
    if last is None:
        return None
    return last.output_schema if last.output_schema is not None else last.params.json_schema


def _dataset_cases(ws: Workspace, config: FeatureConfig) -> list[Case]:
    if config.dataset is None:
        return []
    try:
        return load_dataset(Path(config.dataset.path), ws.root).cases
    except AndonError:
        return []  # an unreadable dataset takes its labels away, never the reviewer's ability to decide


def _label_field(spec: LabelSettings | None, schema: dict[str, Any] | None, cases: list[Case]) -> LabelField:
    path = split_path(spec.path, "label grader path") if spec is not None and spec.path else None
    found: list[str] = []
    if spec is not None and spec.options.labels is not None:
        found += [str(x) for x in spec.options.labels]
    if schema is not None:
        found += _choices(_schema_at(schema, path or ()))
    if spec is None or spec.value is None:  # a grader with `value:` does not read the case's label
        found += [label for case in cases if (label := _case_label(case, path)) is not None]
    return LabelField(path, _unique(found))


def _case_label(case: Case, path: FieldPath | None) -> str | None:
    """The label a case gives this field: its ``label``, else its expected value there (as the grader reads it)."""
    if case.label is not None:
        return case.label.strip() or None
    expected = case.expected
    if path is not None:
        if not isinstance(expected, dict) or not has_value(expected, path):
            return None
        expected = value_at(expected, path)
    if expected is None or isinstance(expected, dict | list):
        return None
    return as_text(expected).strip() or None


def _schema_at(schema: Any, path: FieldPath) -> Any:
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        properties = node.get("properties")
        if isinstance(properties, dict) and part in properties:
            node = properties[part]
        elif part.lstrip("-").isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            return None
    return node


def _choices(node: Any) -> list[str]:
    """The values a schema node allows when it lists them (``enum``, ``const``, or any/oneOf of those)."""
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("enum"), list):
        return [as_text(v) for v in node["enum"] if v is not None and not isinstance(v, dict | list)]
    if "const" in node and not isinstance(node["const"], dict | list) and node["const"] is not None:
        return [as_text(node["const"])]
    for key in ("anyOf", "oneOf"):
        members = node.get(key)
        if isinstance(members, list) and members:
            each = [_choices(m) for m in members]
            if all(each):  # only when every branch is a closed list; one open branch allows anything
                return [c for options in each for c in options]
    return []


def _unique(labels: Iterable[str]) -> tuple[str, ...]:
    """First spelling of each label (ignoring case and outer spaces), in order of appearance."""
    seen: dict[str, str] = {}
    for label in labels:
        label = label.strip()
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return tuple(seen.values())


def _quoted(text: str) -> str:
    return f"'{text}'"
