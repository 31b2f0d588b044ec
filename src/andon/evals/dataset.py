"""Datasets: test cases from YAML, JSONL or CSV, with errors that name file, line and field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andon.config.loader import parse_yaml
from andon.config.simulated_user import SIMULATED_USER_VARIABLE as SIMULATED_USER
from andon.config.simulated_user import parse_simulated_user
from andon.errors import ConfigError
from andon.evals.guideline import Guideline, find_guideline
from andon.evals.model import Case
from andon.evals.retrieval import parse_relevant
from andon.messages import t

FILE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".pdf", ".txt", ".md", ".hwp", ".hwpx", ".docx")
RESERVED_COLUMNS = ("id", "label", "expected", "tags", "reason", "relevant")
CASE_KEYS = {"id", "vars", "expected", "label", "tags", "reason", "human", "labels", "relevant", SIMULATED_USER}


@dataclass(frozen=True)
class Dataset:
    """Loaded cases plus where they came from (relative file paths in variables resolve against ``folder``)."""

    path: Path
    cases: list[Case]
    sha256: str
    guideline: Guideline | None = None  # the labelling guideline beside the file (``<stem>.guideline.md``)

    @property
    def folder(self) -> Path:
        """The folder relative paths in the cases resolve against."""
        return self.path.parent


def load_dataset(path: Path, workspace: Path) -> Dataset:
    """Read ``path`` (``.yaml``/``.yml``, ``.jsonl``, ``.csv``); refuse files that escape ``workspace``."""
    path = path if path.is_absolute() else workspace / path
    _inside(path, workspace, str(path))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(t("house2.data.missing", path=path), hint=t("house2.data.missing_hint")) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(t("house2.data.not_utf8", start=exc.start), where=str(path)) from None
    cases = _build_cases(parse_cases(text, path), path, workspace)
    return Dataset(path=path, cases=cases, sha256=hashlib.sha256(data).hexdigest(), guideline=find_guideline(path))


def parse_cases(text: str, path: Path) -> list[tuple[str, Any]]:
    """The raw cases of a dataset's text, each with where it is (``file:line``); the format is ``path``'s suffix."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _from_yaml(text, path)
    if suffix == ".jsonl":
        return _from_jsonl(text, path)
    if suffix == ".csv":
        return _from_csv(text, path)
    raise ConfigError(t("house2.data.format", suffix=suffix), where=str(path), hint=t("house2.data.format_hint"))


def _inside(path: Path, workspace: Path, where: str) -> None:
    try:
        path.resolve().relative_to(workspace.resolve())
    except ValueError:
        raise ConfigError(
            t("house2.data.outside", path=path, workspace=workspace), where=where, hint=t("house2.data.outside_hint")
        ) from None


def _from_yaml(text: str, path: Path) -> list[tuple[str, Any]]:
    data, positions = parse_yaml(text, path, env={})
    prefix: tuple[str, ...] = ()
    default: Any = None  # a dataset-wide simulated user, for the cases without their own turns
    if isinstance(data, dict) and "cases" in data:
        default = data.get(SIMULATED_USER)
        data, prefix = data["cases"], ("cases",)
    if not isinstance(data, list):
        raise ConfigError(t("house2.data.yaml_list"), where=f"{path}:1:1")
    out = []
    for index, item in enumerate(data):
        line, _ = positions.get((*prefix, index), (1, 1))
        where = f"{path}:{line}"
        if default is not None and isinstance(item, dict):
            item = _with_default_user(item, default, where)
        out.append((where, item))
    return out


def _with_default_user(item: dict[str, Any], default: Any, where: str) -> dict[str, Any]:
    """The case with the dataset's simulated user under its own settings (a scripted case keeps its turns)."""
    if not isinstance(default, dict):
        raise ConfigError(t("sim14.config.mapping"), where=f"{where}: simulated_user", hint=t("sim14.config.hint"))
    own = item.get(SIMULATED_USER)
    variables = item.get("vars")
    if own is None and isinstance(variables, dict) and ("turns" in variables or SIMULATED_USER in variables):
        return item
    if own is not None and not isinstance(own, dict):
        return item  # the case's own value is checked (and refused) with the case
    return item | {SIMULATED_USER: default | (own or {})}


def _from_jsonl(text: str, path: Path) -> list[tuple[str, Any]]:
    out = []
    # JSON Lines are separated by \n only: splitlines() would also split inside strings at U+2028 and U+0085.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            out.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                t("house2.data.json", error=exc.msg),
                where=f"{path}:{number}:{exc.colno}",
                hint=t("house2.data.json_hint"),
            ) from None
    return out


def _from_csv(text: str, path: Path) -> list[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    out = []
    for row in reader:
        item: dict[str, Any] = {"vars": {}, "human": {}, "labels": {}}
        for column, value in row.items():
            if column is None:
                raise ConfigError(t("house2.data.csv_cells"), where=f"{path}:{reader.line_num}")
            value = value or ""
            if column in RESERVED_COLUMNS:
                if column == "tags":
                    item["tags"] = [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]
                elif column == "expected":
                    item["expected"] = _maybe_json(value)
                elif column == "relevant" and value.strip():
                    # a JSON list, or ids / paths separated by ";"
                    parsed = _maybe_json(value)
                    item["relevant"] = (
                        parsed if isinstance(parsed, list) else [v.strip() for v in value.split(";") if v.strip()]
                    )
                elif value:
                    item[column] = value
            elif column.startswith("human."):
                item["human"][column.removeprefix("human.")] = _maybe_json(value)
            elif column.startswith("labels."):
                if value:  # an empty cell: that labeller did not label this case
                    item["labels"][column.removeprefix("labels.")] = value
            else:
                item["vars"][column.removeprefix("vars.")] = value
        out.append((f"{path}:{reader.line_num}", item))
    return out


def _labels(value: Any, where: str) -> dict[str, str]:
    """Several people's labels of one case, ``{alice: approve, bob: reject}``; a null is a case left unlabelled."""
    if value is None:
        return {}
    scalar = (str, int, float, bool, type(None))
    if not isinstance(value, dict) or not all(isinstance(v, scalar) for v in value.values()):
        raise ConfigError(t("evalrobust.data.labels"), where=f"{where}: labels", hint=t("evalrobust.data.labels_hint"))
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _simulated_user(item: dict[str, Any], variables: dict[str, Any], where: str) -> None:
    """Check the case's simulated user and keep it, normalised, in its variables (as the runner reads it)."""
    value = item[SIMULATED_USER] if SIMULATED_USER in item else variables.get(SIMULATED_USER)
    if value is None:
        variables.pop(SIMULATED_USER, None)
        return
    if isinstance(value, str):  # a CSV cell holds JSON
        value = _maybe_json(value)
    if "turns" in variables:
        raise ConfigError(t("sim14.config.with_turns"), where=f"{where}: simulated_user")
    variables[SIMULATED_USER] = parse_simulated_user(value, where).to_json()


def _build_cases(raw: Iterable[tuple[str, Any]], path: Path, workspace: Path) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for index, (where, item) in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ConfigError(t("house2.data.case_mapping"), where=where)
        unknown = set(item) - CASE_KEYS
        if unknown:
            raise ConfigError(
                t("house2.data.case_fields", fields=", ".join(sorted(unknown))),
                where=where,
                hint=t("house2.data.case_fields_hint"),
            )
        case_id = str(item.get("id") or f"{path.stem}-{index:04d}")
        if case_id in seen:
            raise ConfigError(t("house2.data.case_twice", case_id=case_id, first=seen[case_id]), where=where)
        seen[case_id] = where
        variables = item.get("vars") or {}
        if not isinstance(variables, dict):
            raise ConfigError(t("house2.data.vars"), where=where)
        variables = dict(variables)
        _simulated_user(item, variables, where)
        for name, value in variables.items():
            if isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES) and "://" not in value:
                target = Path(value) if Path(value).is_absolute() else path.parent / value
                _inside(target, workspace, f"{where}: vars.{name}")
                if not target.is_file():
                    raise ConfigError(
                        t("house2.data.var_file", name=name, value=value, folder=path.parent), where=where
                    )
                # Resolved once here, so rule steps, prompts and reports all see the same file.
                variables[name] = str(target.resolve())
        tags = item.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        label = item.get("label")
        human = item.get("human") or {}
        if not isinstance(human, dict):
            raise ConfigError(t("house2.data.human"), where=where)
        labels = _labels(item.get("labels"), where)
        relevant = parse_relevant(item.get("relevant"), where)  # checked here, so a typo is a file:line error
        cases.append(
            Case(
                id=case_id,
                vars=variables,
                expected=item.get("expected"),
                label=str(label) if label is not None else None,
                tags=tuple(str(t) for t in tags),
                reason=item.get("reason"),
                human=dict(human),
                source=where,
                labels=labels,
                relevant=tuple(r.to_json() for r in relevant),
            )
        )
    if not cases:
        raise ConfigError(t("house2.data.empty"), where=str(path))
    return cases
