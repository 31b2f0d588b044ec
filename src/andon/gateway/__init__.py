"""The gateway: features over HTTP with durable traces, provenance, a semantic cache, auth and fallback."""
