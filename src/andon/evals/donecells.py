"""The cells a resumed run already holds, as one bit per cell: a million done cells cost 125 kB, not a set of tuples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class DoneCells:
    """Which (version id, case id, repeat) cells are stored, for the versions and cases of one run.

    A cell outside the run's versions, cases or repeats is not tracked: the schedule never asks about it.
    """

    def __init__(self, version_ids: Sequence[str], case_ids: Sequence[str], repeats: int) -> None:
        self._repeats = repeats
        self._versions = {vid: i for i, vid in enumerate(dict.fromkeys(version_ids))}
        self._width = len(case_ids) * repeats
        self._bits = bytearray((len(self._versions) * self._width + 7) // 8)
        self._count = 0
        self._case_ids = case_ids
        self._positions: dict[str, int] | None = None  # built only while marking: freed once the run is loaded

    def mark_all(self, cells: Iterable[tuple[str, str, int]]) -> None:
        """Mark every (version id, case id, repeat) of ``cells`` (as the store streams them) done."""
        self._positions = {case_id: i for i, case_id in enumerate(self._case_ids)}
        try:
            for version_id, case_id, repeat in cells:
                index = self._index(version_id, case_id, int(repeat))
                if index is not None and not self._bits[index >> 3] & (1 << (index & 7)):
                    self._bits[index >> 3] |= 1 << (index & 7)
                    self._count += 1
        finally:
            self._positions = None

    def has(self, version_id: str, position: int, repeat: int) -> bool:
        """Whether the cell of the case at ``position`` (in the run's case order) is done."""
        row = self._versions.get(version_id)
        if row is None or not 0 <= repeat < self._repeats:
            return False
        index = row * self._width + position * self._repeats + repeat
        return bool(self._bits[index >> 3] & (1 << (index & 7)))

    def __len__(self) -> int:
        return self._count

    def _index(self, version_id: str, case_id: str, repeat: int) -> int | None:
        row = self._versions.get(version_id)
        position = self._positions.get(case_id) if self._positions is not None else None
        if row is None or position is None or not 0 <= repeat < self._repeats:
            return None
        return row * self._width + position * self._repeats + repeat
