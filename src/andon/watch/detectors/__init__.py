"""Detectors: one small interface (``update(ts, value) -> Verdict``) and one registry (``andon.detectors``)."""
