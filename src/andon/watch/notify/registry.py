"""The notifier registry: built-ins plus the ``andon.notifiers`` entry-point group, built from ``notifiers:``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from andon.config.schema import NotifierConfig, PluginNotifierConfig
from andon.errors import ConfigError
from andon.extensions import NOTIFIERS
from andon.messages import t
from andon.plugins import Registry
from andon.watch.notify.base import Notifier

GROUP = NOTIFIERS.group
BUILTINS = {
    "slack": "andon.watch.notify.slack:SlackNotifier",
    "webhook": "andon.watch.notify.webhook:WebhookNotifier",
    "email": "andon.watch.notify.email:EmailNotifier",
}
REGISTRY = Registry(GROUP, NOTIFIERS.kind, BUILTINS)


def build_notifier(name: str, config: NotifierConfig, *, language: str = "en", source: str = "andon.yaml") -> Notifier:
    """The notifier ``name`` of ``notifiers:``; a plugin's ``options`` are checked by its own ``Settings`` model."""
    where = f"{source}: notifiers.{name}"
    factory: Any = REGISTRY.load(config.type, where=f"{where}.type")
    settings: Any = config
    model = getattr(factory, "Settings", None)
    if isinstance(config, PluginNotifierConfig) and isinstance(model, type) and issubclass(model, BaseModel):
        try:
            settings = model.model_validate(config.options)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                str(first["msg"]), where=f"{where}.options{'.' + field if field else ''}",
                hint=t("house3.notify.see_docs", type=config.type),
            ) from None  # fmt: skip
    notifier = factory(name, settings, language)
    if not isinstance(notifier, Notifier):
        raise ConfigError(t("house3.notify.no_send", type=config.type), where=f"{where}.type")
    return notifier
