"""``work``: a key result moved by the work items linked to it as ``measures`` (share done, or points done).

``contributes`` links are shown elsewhere and never counted here.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from andon.messages import t
from andon.okr.bindings.base import Binding, BindingContext, BindingError, BindingSettings, Reading


class WorkSettings(BindingSettings):
    """``measure``: ``share_done`` (done of all linked, as a percentage or fraction) or ``points_done``."""

    type: Literal["work"] = "work"
    measure: Literal["share_done", "points_done"] = Field(description="share_done or points_done.")
    scale: Literal["percent", "fraction"] = Field(default="percent", description="share_done: 0–100 or 0–1.")


class WorkBinding(Binding):
    """Progress of the work items that measure the key result."""

    type_name: ClassVar[str] = "work"
    Settings: ClassVar[type[BindingSettings]] = WorkSettings
    settings: WorkSettings

    def describe(self) -> str:
        """``work share_done``."""
        return f"work {self.settings.measure}"

    def read(self, context: BindingContext) -> Reading:
        """The share (or points) done of the linked ``measures`` items; a BindingError when none is linked."""
        store = context.ws.store
        links = [link for link in store.work_links(key_result=context.key_result.id) if link.kind == "measures"]
        if not links:
            raise BindingError(
                t("okr.bind.work.none", kr=context.key_result.id),
                hint=t("okr.bind.hint.link", kr=context.key_result.id),
            )
        wanted = {link.work_item for link in links}
        items = [item for item in store.work_items() if item.id in wanted]
        done = [item for item in items if item.done]
        snapshot: dict[str, object] = {
            "measure": self.settings.measure,
            "items": len(items),
            "done": len(done),
            "done_items": sorted(f"{i.source}:{i.external_id}" for i in done)[:50],
        }
        if self.settings.measure == "share_done":
            share = len(done) / len(items) if items else 0.0
            value = share * 100.0 if self.settings.scale == "percent" else share
            snapshot["scale"] = self.settings.scale
        else:
            unpointed = [i for i in done if i.points is None]
            value = float(sum(i.points or 0.0 for i in done))
            snapshot.update(points_done=value, points_total=float(sum(i.points or 0.0 for i in items)))
            if unpointed:
                snapshot["done_without_points"] = len(unpointed)
        snapshot["value"] = value
        return Reading(value, snapshot)
