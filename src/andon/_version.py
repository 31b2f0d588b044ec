"""The package's version, written once: ``pyproject.toml`` reads it from here, the CLI and the gateway report it."""

__version__ = "0.1.0"
