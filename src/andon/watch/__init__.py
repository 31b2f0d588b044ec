"""Watch and stop the line: monitors, detectors, the automatic cord, incidents and notifications."""
