"""An incident's impact, counted from the traces of its window by one store query (never row by row here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from andon.store.incidents import TraceCounts
from andon.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Impact:
    """Calls, people and money touched by an incident between ``start`` and ``end``."""

    start: datetime
    end: datetime
    calls: int
    users: int
    tenants: int
    errors: int
    to_people: int  # answered by the review queue or the fallback instead of the AI
    cost: dict[str, float]
    unpriced: int

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (times as ISO 8601)."""
        return asdict(self) | {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Impact:
        """Back from :meth:`to_json`."""
        return cls(
            **{**data, "start": datetime.fromisoformat(data["start"]), "end": datetime.fromisoformat(data["end"])}
        )


def assess_impact(ws: Workspace, feature: str, start: datetime, end: datetime) -> Impact:
    """Count the traces of ``feature`` in ``[start, end)``."""
    counts: TraceCounts = ws.store.trace_counts(feature, start, end)
    return Impact(
        start=start,
        end=end,
        calls=counts.calls,
        users=counts.users,
        tenants=counts.tenants,
        errors=counts.errors,
        to_people=counts.to_people,
        cost=counts.cost,
        unpriced=counts.unpriced,
    )
