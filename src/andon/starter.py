"""The andon.yaml that ``andon init`` writes: offline by default, commented so it teaches the format."""

from __future__ import annotations

_TEMPLATE = """\
# andon workspace. Every field: `andon schema`. Check it: `andon check`.
andon: 1
name: {name}
language: en            # en or ko: language of messages and reports
currency: KRW           # reports convert costs into this currency
exchange_rates:
  USD: 1450             # 1 USD = 1450 KRW

providers:
  local:                # embedded model: weights come inside a package, nothing downloads
    type: local
    model: qwen2.5-coder-0.5b   # or qwen2.5-coder-1.5b (better, slower), or a path to any .gguf
  # openai:
  #   type: openai
  #   base_url: https://api.openai.com/v1   # any OpenAI-compatible server: vLLM, Ollama, llama.cpp
  #   api_key: ${{OPENAI_API_KEY}}           # secrets come from the environment, never the store
  #   model: gpt-4o-mini

prices:                 # per 1M tokens; the embedded model costs nothing per call
  - {{provider: local, model: "*", input_per_1m: 0, output_per_1m: 0, currency: KRW}}
  # - {{provider: openai, model: gpt-4o-mini, input_per_1m: 0.15, output_per_1m: 0.60, currency: USD}}

features:
  listing-title:
    description: Suggest a short title for a second-hand listing.
    versions:
      v1:
        provider: local
        system: You write short, honest titles for second-hand listings. Answer in the listing's language.
        prompt: "Listing: {{{{ description }}}}\\nTitle:"
        params: {{temperature: 0, max_tokens: 32, seed: 7}}
      v2:
        provider: local
        system: |
          You write short, honest titles for second-hand listings.
          Reply as JSON with one field, "title": at most 30 characters, in the listing's language.
        prompt: "Listing: {{{{ description }}}}"
        params: {{temperature: 0, max_tokens: 48, seed: 7}}
        output_schema:
          type: object
          properties:
            title: {{type: string, maxLength: 60}}
          required: [title]
"""


def starter_config(name: str) -> str:
    """The text of a new andon.yaml for a workspace called ``name``."""
    return _TEMPLATE.format(name=name)
