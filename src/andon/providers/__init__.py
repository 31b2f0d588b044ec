"""Providers: one async protocol; openai-compatible, anthropic, local (embedded GGUF) and python."""
