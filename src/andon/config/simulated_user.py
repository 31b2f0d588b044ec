"""A dataset case's simulated user (issue 14): the model that plays the user, its persona, goal and limits.

Checked when the dataset loads, so a bad setting is an error naming the case's file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from andon.errors import ConfigError
from andon.messages import t

SIMULATED_USER_VARIABLE = "simulated_user"  # a case variable: the simulated user's settings (dataset.py puts it)
FIELDS = ("model", "provider", "persona", "goal", "max_turns", "stop_when", "temperature")
MAX_TURNS_CEILING = 100


@dataclass(frozen=True, slots=True)
class SimulatedUser:
    """Who plays the user: the model (``provider`` under ``providers:``, optional model), persona, goal and limits."""

    provider: str
    model: str | None
    persona: str
    goal: str
    max_turns: int = 6
    stop_when: str | None = None
    temperature: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The settings as stored in a case's variables (``model`` as ``provider/model``)."""
        model = f"{self.provider}/{self.model}" if self.model else self.provider
        out: dict[str, Any] = {"model": model, "persona": self.persona, "goal": self.goal, "max_turns": self.max_turns}
        if self.stop_when is not None:
            out["stop_when"] = self.stop_when
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out


def parse_simulated_user(value: Any, where: str, default: Mapping[str, Any] | None = None) -> SimulatedUser:
    """Check a case's ``simulated_user`` (over the dataset's default); errors name ``where`` and the field."""
    merged = dict(default or {})
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(t("sim14.config.mapping"), where=f"{where}: simulated_user", hint=t("sim14.config.hint"))
    merged.update(value or {})
    unknown = sorted(set(merged) - set(FIELDS))
    if unknown:
        raise ConfigError(
            t("sim14.config.unknown", fields=", ".join(unknown), known=", ".join(FIELDS)),
            where=f"{where}: simulated_user.{unknown[0]}",
        )
    model = merged.get("model")
    provider = merged.get("provider")
    if provider is None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError(
                t("sim14.config.model"), where=f"{where}: simulated_user.model", hint=t("sim14.config.model_hint")
            )
        provider, _, rest = model.strip().partition("/")
        model = rest or None
    elif not isinstance(provider, str) or not provider or (model is not None and not isinstance(model, str)):
        raise ConfigError(
            t("sim14.config.model"), where=f"{where}: simulated_user.provider", hint=t("sim14.config.model_hint")
        )
    texts: dict[str, str] = {}
    for name in ("persona", "goal"):
        text = merged.get(name)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(t("sim14.config.text", field=name), where=f"{where}: simulated_user.{name}")
        texts[name] = text.strip()
    max_turns = merged.get("max_turns", 6)
    if not isinstance(max_turns, int) or isinstance(max_turns, bool) or not 1 <= max_turns <= MAX_TURNS_CEILING:
        raise ConfigError(
            t("sim14.config.max_turns", value=max_turns, ceiling=MAX_TURNS_CEILING),
            where=f"{where}: simulated_user.max_turns",
        )
    stop_when = merged.get("stop_when")
    if stop_when is not None and (not isinstance(stop_when, str) or not stop_when.strip()):
        raise ConfigError(t("sim14.config.text", field="stop_when"), where=f"{where}: simulated_user.stop_when")
    temperature = merged.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 2
    ):
        raise ConfigError(
            t("sim14.config.temperature", value=temperature), where=f"{where}: simulated_user.temperature"
        )
    return SimulatedUser(
        provider=provider,
        model=model,
        persona=texts["persona"],
        goal=texts["goal"],
        max_turns=max_turns,
        stop_when=stop_when.strip() if isinstance(stop_when, str) else None,
        temperature=float(temperature) if temperature is not None else None,
    )
