"""The cache at scale: one embedding a request (shared by the lookup and the store after a miss, none for an
exact hit), and the per-scope row cap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from andon.config.schema import WorkspaceConfig
from andon.embeddings import default_embedder
from andon.gateway.semcache.cache import SemanticCache
from andon.gateway.semcache.index import MAX_INDEX_ROWS, VECTOR_DTYPE, Index
from andon.store import Store


class Counting:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self) -> None:
        self.inner = default_embedder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def config() -> WorkspaceConfig:
    return WorkspaceConfig.model_validate(
        {
            "providers": {"stub": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}},
            "features": {
                "faq": {
                    "versions": {"v1": {"provider": "stub", "prompt": "{{ question }}"}},
                    "serve": {"cache": {"enabled": True}},
                }
            },
        }
    )


async def test_a_request_is_embedded_once_and_an_exact_hit_not_at_all(store: Store) -> None:
    embedder = Counting()
    cache = SemanticCache(store, config(), embedder=embedder)
    asked = {"question": "배송은 언제 오나요?"}
    assert await cache.lookup("faq", "v1", "t", asked) is None  # a miss: embedded for the semantic search
    await cache.store("faq", "v1", "t", asked, "내일 옵니다", None, "trc_1")  # the same vector, not again
    assert embedder.texts == ["배송은 언제 오나요?"]
    found = await cache.lookup("faq", "v1", "t", asked)
    assert found is not None and found.hit == "exact"
    assert embedder.texts == ["배송은 언제 오나요?"]


def test_the_row_cap_drops_the_oldest_and_the_default_holds_a_million() -> None:
    assert MAX_INDEX_ROWS == 1_000_000 and VECTOR_DTYPE == "f16"
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = Index(8, max_rows=3)
    for i in range(5):  # rows arrive a few at a time, as the store gains them
        index.add([(i + 1, vectors[i], 0.0, 1e12, f"text {i}", "s")], now=1.0)
    assert index.size == 3 and sorted(index.vectors.ids().tolist()) == [3, 4, 5]
    found = index.search(vectors[0], -1.0, now=1.0, ttl_s=10**12, scope="s", k=5)
    assert [c.id for c in found if c.id < 3] == []
