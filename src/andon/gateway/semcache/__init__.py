"""The gateway's answer cache: exact (sha256 of the cache-key variables) plus semantic (cosine over embeddings).

Entries are isolated by feature, version id, tenant and API key (unless the feature shares answers across
keys), expire after the feature's ``ttl_s``, and are only ever successful answers. A semantic hit must pass
three checks in turn: cosine at least the feature's threshold (stricter by default for features that write
free text), the :func:`mismatch` guard (same numbers, same negations, no opposite or flipped sentiment,
nobody's role swapped, same order of non-Korean words: the "A가 B에게" / "B가 A에게" failure), and the
feature's judge when one is configured.

What is kept follows the feature's ``data_use.inputs`` (see :func:`storable`): under ``redacted`` and
``hash`` an answer that redaction would change is not cached at all (served back redacted it would be
wrong), and a request that redaction would change is kept redacted and matched exactly only (its embedding
would carry the personal data, and another person's data redacts to the same text).

Modules: ``keys`` (what identifies a request), ``guard`` and its word list ``polarity`` (the Korean
role-reversal and opposite-meaning checks), ``index`` (the in-memory vectors), ``judge`` (a model that
confirms a hit) and ``cache`` (:class:`~andon.gateway.semcache.cache.SemanticCache`, which uses them all).
"""
