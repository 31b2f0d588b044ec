"""Watch and stop the line: monitors, detectors, the automatic cord, incidents and notifications."""

from andon.watch.detectors.base import (
    Detector,
    DetectorSettings,
    DetectorStateError,
    Proportion,
    Verdict,
    build_detector,
    known_types,
)

__all__ = [
    "Detector",
    "DetectorSettings",
    "DetectorStateError",
    "Proportion",
    "Verdict",
    "build_detector",
    "known_types",
]
