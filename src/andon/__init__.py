"""andon: evaluate, serve and watch AI features — versioned prompts with provenance and an Andon cord."""

from andon.client import AsyncClient, Client
from andon.errors import AndonError

__version__ = "0.1.0"

__all__ = ["AndonError", "AsyncClient", "Client", "__version__"]
