"""Evaluation runs in the store: create, stream graded cells in, resume, and read back for reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from andon.errors import NotFoundError
from andon.messages import t
from andon.store._base import StoreBase
from andon.store.models import OutputRow, RunCaseRow, RunCaseTagRow, RunResultRow, RunRow, utcnow
from andon.store.records import CellPage, CellQuery, OutputRecord, RunRecord
from andon.store.refs import get_by_ref

_RESULT_FIELDS = tuple(c.name for c in RunResultRow.__table__.columns if c.name not in ("id", "run_id", "created_at"))
_OUTPUT_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))
_CHUNK = 500


class RunsMixin(StoreBase):
    """Run methods of :class:`andon.store.Store` (kept apart: one concept per file)."""

    def create_run(
        self,
        *,
        run_id: str,
        feature: str,
        dataset: str,
        dataset_sha256: str,
        repeats: int,
        currency: str,
        versions: Sequence[tuple[str, str]],
        cases: Iterable[Mapping[str, Any]],
        config: Mapping[str, Any],
    ) -> None:
        """Record a new run and a snapshot of its cases in one transaction (``cases`` is read once, in chunks)."""
        with self._write() as session:
            session.add(
                RunRow(
                    id=run_id,
                    feature=feature,
                    status="running",
                    created_at=utcnow(),
                    finished_at=None,
                    dataset=dataset,
                    dataset_sha256=dataset_sha256,
                    repeats=repeats,
                    currency=currency,
                    versions=[[name, vid] for name, vid in versions],
                    config=dict(config),
                    n_cases=0,
                )
            )
            session.flush()
            position = 0
            for chunk in _chunks(cases, _CHUNK):
                session.execute(
                    insert(RunCaseRow),
                    [
                        {"run_id": run_id, "case_id": c["id"], "position": position + i, "data": dict(c)}
                        for i, c in enumerate(chunk)
                    ],
                )
                position += len(chunk)
                tags = [
                    {"run_id": run_id, "tag": tag, "case_id": c["id"]}
                    for c in chunk
                    for tag in dict.fromkeys(str(x) for x in c.get("tags") or ())
                ]
                for start in range(0, len(tags), _CHUNK):
                    session.execute(insert(RunCaseTagRow), tags[start : start + _CHUNK])
            session.execute(update(RunRow).where(RunRow.id == run_id).values(n_cases=position))

    def set_run_status(self, run_id: str, status: str, note: str | None) -> None:
        """Mark a run running again, or ended (with when and why)."""
        finished = None if status == "running" else utcnow()
        with self._write() as session:
            session.execute(
                update(RunRow).where(RunRow.id == run_id).values(status=status, finished_at=finished, note=note)
            )

    def save_cells(self, outputs: Sequence[OutputRecord], cells: Sequence[Any]) -> None:
        """Store outputs and their graded cells together: a cell is never stored without its output."""
        output_rows = [{name: getattr(r, name) for name in _OUTPUT_FIELDS} for r in outputs]
        cell_rows = [_cell_row(cell) for cell in cells]
        with self._write() as session:
            if output_rows:
                session.execute(insert(OutputRow), output_rows)
            if cell_rows:
                session.execute(insert(RunResultRow), cell_rows)

    def done_cells(self, run_id: str) -> set[tuple[str, str, int]]:
        """(version id, case id, repeat) of every stored cell of a run, for resuming."""
        return set(self.iter_done_cells(run_id))

    def iter_done_cells(self, run_id: str) -> Iterator[tuple[str, str, int]]:
        """(version id, case id, repeat) of every stored cell of a run, streamed (a resume never holds them all)."""
        query = select(RunResultRow.version_id, RunResultRow.case_id, RunResultRow.repeat).where(
            RunResultRow.run_id == run_id
        )
        with self._read() as session:
            for version_id, case_id, repeat in session.execute(query.execution_options(yield_per=5000)):
                yield version_id, case_id, int(repeat)

    def get_run(self, ref: str) -> RunRecord:
        """A run by id or unique id prefix; ``latest`` or ``latest:FEATURE`` for the newest."""
        with self._read() as session:
            what = t("house.ref.what.run")
            if ref == "latest" or ref.startswith("latest:"):
                query = select(RunRow).order_by(RunRow.created_at.desc()).limit(1)
                if ref.startswith("latest:"):
                    query = query.where(RunRow.feature == ref.removeprefix("latest:"))
                row = session.scalars(query).first()
                if row is None:
                    raise NotFoundError(t("house.ref.missing", what=what, ref=ref), hint=_recent_runs(session))
                return _run_record(row)
            return _run_record(get_by_ref(session, RunRow, ref, what, lambda: _recent_runs(session)))

    def list_runs(self, feature: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Newest runs first."""
        with self._read() as session:
            query = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
            if feature is not None:
                query = query.where(RunRow.feature == feature)
            return [_run_record(r) for r in session.scalars(query)]

    def run_cases(self, run_id: str) -> list[dict[str, Any]]:
        """The run's case snapshot, in dataset order."""
        with self._read() as session:
            rows = session.scalars(
                select(RunCaseRow.data).where(RunCaseRow.run_id == run_id).order_by(RunCaseRow.position)
            )
            return [dict(r) for r in rows]

    def iter_run_results(self, run_id: str, version_id: str | None = None) -> Iterator[dict[str, Any]]:
        """The run's graded cells, streamed in insertion order (one field dict per cell)."""
        columns = [getattr(RunResultRow, name) for name in ("run_id", *_RESULT_FIELDS)]
        query = select(*columns).where(RunResultRow.run_id == run_id).order_by(RunResultRow.id)
        if version_id is not None:
            query = query.where(RunResultRow.version_id == version_id)
        with self._read() as session:
            for row in session.execute(query.execution_options(yield_per=2000)):
                yield dict(row._mapping)

    def run_tallies(self, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[int, int, int]]]:
        """Per run, per version id: (cells, passed, failed calls), counted in the database."""
        passed = func.sum(case((RunResultRow.passed.is_(True), 1), else_=0))
        errors = func.sum(case((RunResultRow.status == "error", 1), else_=0))
        query = (
            select(RunResultRow.run_id, RunResultRow.version_id, func.count(), passed, errors)
            .where(RunResultRow.run_id.in_(list(run_ids)))
            .group_by(RunResultRow.run_id, RunResultRow.version_id)
        )
        out: dict[str, dict[str, tuple[int, int, int]]] = {}
        with self._read() as session:
            for run_id, version_id, cells, ok, failed in session.execute(query):
                out.setdefault(run_id, {})[version_id] = (int(cells), int(ok or 0), int(failed or 0))
        return out

    def run_cells(self, run_id: str, query: CellQuery) -> CellPage:
        """One page of a run's cells in id order, filtered and paged by the database (keyset on the cell id)."""
        columns = [RunResultRow.id, *(getattr(RunResultRow, name) for name in ("run_id", *_RESULT_FIELDS))]
        stmt = select(*columns).where(RunResultRow.run_id == run_id)
        if query.version_id is not None:
            stmt = stmt.where(RunResultRow.version_id == query.version_id)
        if query.failed:
            stmt = stmt.where(RunResultRow.passed.is_(False))
        if query.label is not None:
            stmt = stmt.where(RunResultRow.expected_label == query.label)
        if query.tag is not None:
            tagged = select(RunCaseTagRow.case_id).where(RunCaseTagRow.run_id == run_id, RunCaseTagRow.tag == query.tag)
            stmt = stmt.where(RunResultRow.case_id.in_(tagged))
        backwards = query.before is not None and query.after is None
        if query.after is not None:
            stmt = stmt.where(RunResultRow.id > query.after)
        if query.before is not None:
            stmt = stmt.where(RunResultRow.id < query.before)
        stmt = stmt.order_by(RunResultRow.id.desc() if backwards else RunResultRow.id).limit(query.limit + 1)
        with self._read() as session:
            rows = [dict(row._mapping) for row in session.execute(stmt)]
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        if backwards:
            rows.reverse()
        ids = [row.pop("id") for row in rows]
        earlier = bool(ids) and (more if backwards else query.after is not None)
        later = bool(ids) and (query.before is not None if backwards else more)
        return CellPage(
            cells=rows,
            before=ids[0] if ids and earlier else None,
            after=ids[-1] if ids and later else None,
        )

    def run_cases_by_id(self, run_id: str, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The case snapshots of ``case_ids`` in a run (unknown ids are left out)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(case_ids))
        with self._read() as session:
            for start in range(0, len(unique), _CHUNK):
                rows = session.execute(
                    select(RunCaseRow.case_id, RunCaseRow.data).where(
                        RunCaseRow.run_id == run_id, RunCaseRow.case_id.in_(unique[start : start + _CHUNK])
                    )
                )
                found.update({case_id: dict(data) for case_id, data in rows})
        return found

    def run_tags(self, run_id: str) -> list[str]:
        """Every tag of the run's cases, sorted."""
        with self._read() as session:
            query = (
                select(RunCaseTagRow.tag).where(RunCaseTagRow.run_id == run_id).distinct().order_by(RunCaseTagRow.tag)
            )
            return list(session.scalars(query))

    def outputs_by_id(self, ids: Sequence[str]) -> dict[str, OutputRecord]:
        """Outputs (with provenance) for the given ids; missing ids are left out."""
        found: dict[str, OutputRecord] = {}
        with self._read() as session:
            for start in range(0, len(ids), _CHUNK):
                rows = session.scalars(select(OutputRow).where(OutputRow.id.in_(ids[start : start + _CHUNK])))
                for row in rows:
                    found[row.id] = OutputRecord(**{name: getattr(row, name) for name in _OUTPUT_FIELDS})
        return found


def _recent_runs(session: Session) -> str:
    recent = session.scalars(select(RunRow.id).order_by(RunRow.created_at.desc()).limit(5)).all()
    return t("polish.notfound.run_recent", runs=", ".join(recent)) if recent else t("polish.notfound.run_none")


def _chunks(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cell_row(cell: Any) -> dict[str, Any]:
    row = {"run_id": cell.run_id, "created_at": utcnow()}
    for name in _RESULT_FIELDS:
        value = getattr(cell, name)
        if name == "grades":
            value = [g.to_json() if hasattr(g, "to_json") else dict(g) for g in value]
        row[name] = value
    return row


def _run_record(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        feature=row.feature,
        status=row.status,
        created_at=row.created_at,
        finished_at=row.finished_at,
        dataset=row.dataset,
        dataset_sha256=row.dataset_sha256,
        repeats=row.repeats,
        currency=row.currency,
        versions=[(str(n), str(v)) for n, v in row.versions],
        config=dict(row.config),
        n_cases=row.n_cases,
        note=row.note,
    )
