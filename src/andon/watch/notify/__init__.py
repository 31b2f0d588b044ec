"""Notifiers: one small interface, one registry (entry points ``andon.notifiers``), Slack, webhook and e-mail."""

from andon.watch.notify.base import Notification, Notifier, NotifyError
from andon.watch.notify.registry import REGISTRY, build_notifier

__all__ = ["REGISTRY", "Notification", "Notifier", "NotifyError", "build_notifier"]
