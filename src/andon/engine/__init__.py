"""The one async core shared by the runner and the gateway: run a version on variables."""
