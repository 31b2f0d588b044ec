"""What the dossier reads that no other store method sums up: a feature's traces counted by route."""

from __future__ import annotations

from sqlalchemy import func, select

from andon.store._base import StoreBase
from andon.store.models import TraceRow


class DossierMixin(StoreBase):
    """Aggregates for ``andon dossier`` (methods of :class:`andon.store.Store`)."""

    def trace_route_counts(self, feature: str) -> dict[str, int]:
        """How many of ``feature``'s stored traces took each route (ai, human, shadow, fallback)."""
        query = select(TraceRow.route, func.count()).where(TraceRow.feature == feature).group_by(TraceRow.route)
        with self._read() as session:
            return {str(route): int(n) for route, n in session.execute(query)}


__all__ = ["DossierMixin"]
