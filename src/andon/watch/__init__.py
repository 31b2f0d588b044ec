"""Watch and stop the line: detectors that judge metric streams (monitors and the cord come later)."""

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
