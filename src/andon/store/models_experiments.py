"""Tables of A/B experiments (issue 12): the experiments and the events (conversions, values) of their units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.models import ID_LENGTH, Base, UTCDateTime, json_type


class ExperimentRow(Base):
    """One A/B experiment of a feature: its arms (versions), its settings, status and always-valid results.

    ``active_key`` is the feature while it runs, NULL after: unique, so one feature runs one experiment at a time.
    """

    __tablename__ = "experiments"
    __table_args__ = (Index(None, "feature", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    feature: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))  # its key under the feature's `experiments:`
    status: Mapped[str] = mapped_column(String(20))  # running | decided | stopped | guardrail | exhausted
    settings: Mapped[dict[str, Any]] = mapped_column(json_type())  # the config it started with, arms resolved to ids
    results: Mapped[dict[str, Any]] = mapped_column(json_type())  # per metric: the running always-valid summary
    decision: Mapped[dict[str, Any] | None] = mapped_column(json_type(none_as_null=True), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    active_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every change (compare-and-set)


class ExperimentEventRow(Base):
    """One outcome a client pushed for a unit of an experiment (a conversion, or a value such as revenue)."""

    __tablename__ = "experiment_events"
    __table_args__ = (Index(None, "experiment_id", "name", "unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))  # the event: conversion, revenue …
    unit: Mapped[str] = mapped_column(String(200))
    arm: Mapped[int] = mapped_column(Integer)  # the index of the unit's arm, by the same hash the gateway uses
    value: Mapped[float] = mapped_column(Float)
    trace_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
