"""The cosine ANN index: recall against exact search, deletes, save/load and incremental catch-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from andon.config.schema import WorkspaceConfig
from andon.embeddings import default_embedder
from andon.gateway.semcache import cache as cache_module
from andon.gateway.semcache.cache import SemanticCache
from andon.store import Store
from andon.vectors import VectorIndex, exact_search, index_path

DIM = 64
Sample = tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]]


def clustered(n: int, seed: int, dim: int = DIM, clusters: int = 50) -> NDArray[np.float32]:
    """Unit vectors around ``clusters`` centres (real embeddings cluster; random ones in high dimension do not)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    points = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def recall_at(
    index: VectorIndex, matrix: NDArray[np.float32], ids: NDArray[np.int64], queries: NDArray[np.float32], k: int
) -> float:
    hits = 0
    for query in queries:
        truth, _ = exact_search(matrix, ids, query, k)
        found, _ = index.search(query, k)
        hits += len(set(truth.tolist()) & set(found.tolist()))
    return hits / (k * len(queries))


@pytest.fixture(scope="module")
def sample() -> Sample:
    base = clustered(4000, seed=11)
    queries = clustered(200, seed=12)
    return base, np.arange(10, 4010, dtype=np.int64), queries


def test_graph_recall_at_10_reaches_0_99(sample: Sample) -> None:
    base, ids, queries = sample
    index = VectorIndex(DIM, exact_below=500, build_threads=1)
    index.add(ids, base)
    assert index.approximate
    assert recall_at(index, base, ids, queries, 10) >= 0.99


def test_a_background_build_searches_exactly_meanwhile_and_keeps_every_change(sample: Sample) -> None:
    base, ids, queries = sample
    index = VectorIndex(DIM, exact_below=500, build_threads=1, background=True)
    index.add(ids[:3000], base[:3000])
    assert not index.approximate  # the add returned before the graph: this search is the exact one
    truth, _ = exact_search(base[:3000], ids[:3000], queries[0], 10)
    assert index.search(queries[0], 10)[0].tolist() == truth.tolist()
    index.add(ids[3000:], base[3000:])  # during the build (or after: the end state must be the same)
    gone = ids[:100].tolist()
    index.remove(gone)
    replaced = np.roll(base[100:110], 1, axis=0)
    index.add(ids[100:110], replaced)
    assert index.wait_built(timeout=120) and index.approximate
    assert len(index) == 3900 and not set(gone) & set(index.ids().tolist())
    assert np.allclose(index.vectors_of(ids[100:110]), replaced, atol=1e-6)
    kept = np.concatenate([replaced, base[110:]])
    assert recall_at(index, kept, ids[100:], queries, 10) >= 0.95  # order of graph adds varies with timing


def test_cosines_are_those_of_the_vectors(sample: Sample) -> None:
    base, ids, queries = sample
    for exact_below in (10**9, 500):
        index = VectorIndex(DIM, exact_below=exact_below, build_threads=1)
        index.add(ids, base)
        found, sims = index.search(queries[0], 5)
        expected = base[found - 10] @ queries[0]
        assert np.allclose(sims, expected, atol=1e-4)
        assert list(sims) == sorted(sims, reverse=True)


def test_small_index_is_exact_and_ties_break_by_id() -> None:
    index = VectorIndex(3)
    index.add([7, 3, 5], [[1, 0, 0], [1, 0, 0], [0, 1, 0]])
    assert not index.approximate
    found, sims = index.search(np.array([1, 0, 0], dtype=np.float32), 2)
    assert found.tolist() == [3, 7]
    assert sims.tolist() == pytest.approx([1.0, 1.0])
    assert index.search(np.array([1, 0, 0], dtype=np.float32), 10)[0].tolist() == [3, 7, 5]


@pytest.mark.parametrize("exact_below", [10**9, 200])
def test_deleted_ids_are_never_returned(exact_below: int) -> None:
    base = clustered(1500, seed=3)
    index = VectorIndex(DIM, exact_below=exact_below, build_threads=1)
    index.add(np.arange(1500), base)
    gone = set(range(0, 1500, 3))
    assert index.remove([*sorted(gone), 99_999]) == len(gone)
    assert len(index) == 1500 - len(gone)
    for query in base[:100]:  # each query is a deleted vector itself or close to one
        found, _ = index.search(query, 20)
        assert not gone & set(found.tolist())
    assert 0 not in index and 1 in index


@pytest.mark.parametrize("exact_below", [10**9, 200])
def test_adding_an_id_again_replaces_its_vector(exact_below: int) -> None:
    base = clustered(400, seed=4)
    index = VectorIndex(DIM, exact_below=exact_below)
    index.add(np.arange(400), base)
    index.add([5], -base[5:6])
    assert len(index) == 400
    found, sims = index.search(-base[5], 1)
    assert found.tolist() == [5] and sims[0] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("exact_below", [10**9, 200])
def test_save_load_round_trip(tmp_path: Path, exact_below: int) -> None:
    base = clustered(1200, seed=5)
    index = VectorIndex(DIM, exact_below=exact_below, build_threads=1)
    index.add(np.arange(1200), base)
    index.remove([10, 11])
    path = tmp_path / "sub" / "v.index"
    index.save(path)
    loaded = VectorIndex.load(path, DIM, exact_below=exact_below)
    assert loaded is not None
    assert loaded.high_water == 1199 and len(loaded) == 1198 and loaded.approximate == index.approximate
    for query in base[:50]:
        assert loaded.search(query, 10)[0].tolist() == index.search(query, 10)[0].tolist()
    assert sorted(loaded.ids().tolist()) == sorted(set(range(1200)) - {10, 11})


def test_load_refuses_missing_foreign_or_torn_files(tmp_path: Path) -> None:
    path = tmp_path / "v.index"
    assert VectorIndex.load(path, DIM) is None
    index = VectorIndex(DIM)
    index.add([1], clustered(1, seed=1))
    index.save(path)
    assert VectorIndex.load(path, DIM + 1) is None  # another embedder's dimension
    path.write_bytes(b"not an index")
    assert VectorIndex.load(path, DIM) is None


def test_incremental_catch_up_after_adds_and_deletes(tmp_path: Path) -> None:
    """A saved index brought up to date from a 'store' (rows above its high-water mark, deleted ids) answers
    as a fresh build of the same rows would."""
    store = {i: v for i, v in enumerate(clustered(3000, seed=6))}
    index = VectorIndex(DIM, exact_below=500, build_threads=1)
    index.add(list(store), np.stack(list(store.values())))
    path = tmp_path / "v.index"
    index.save(path)
    for i, v in enumerate(clustered(600, seed=7), start=3000):
        store[i] = v
    deleted = set(range(0, 3600, 7))
    for i in deleted:
        del store[i]
    loaded = VectorIndex.load(path, DIM, exact_below=500)
    assert loaded is not None
    new = [i for i in store if i > loaded.high_water]
    loaded.add(new, np.stack([store[i] for i in new]))
    loaded.remove(set(loaded.ids().tolist()) - set(store))
    assert set(loaded.ids().tolist()) == set(store)
    ids = np.array(list(store), dtype=np.int64)
    matrix = np.stack(list(store.values()))
    queries = clustered(100, seed=8)
    assert recall_at(loaded, matrix, ids, queries, 10) >= 0.99
    for query in queries:
        assert not deleted & set(loaded.search(query, 10)[0].tolist())


def test_bad_input_is_refused() -> None:
    index = VectorIndex(3)
    with pytest.raises(ValueError, match="2 ids for 1 vectors"):
        index.add([1, 2], [[1, 0, 0]])
    with pytest.raises(ValueError, match=">= 0"):
        index.add([-1], [[1, 0, 0]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=40),
    st.lists(st.integers(0, 60), max_size=20),
    st.integers(1, 8),
)
def test_exact_mode_matches_reference(adds: list[int], removes: list[int], k: int) -> None:
    """In exact mode, after any adds and removes, search is the reference search over the rows left."""
    rng = np.random.default_rng(len(adds) * 100 + len(removes))
    index = VectorIndex(4)
    rows: dict[int, NDArray[np.float32]] = {}
    for key in adds:
        vector = rng.standard_normal(4).astype(np.float32)
        vector /= np.linalg.norm(vector)
        index.add([key], vector[None, :])
        rows[key] = vector
    index.remove(removes)
    for key in removes:
        rows.pop(key, None)
    query = rng.standard_normal(4).astype(np.float32)
    found, sims = index.search(query, k)
    if not rows:
        assert found.size == 0
        return
    expected, expected_sims = exact_search(np.stack(list(rows.values())), list(rows), query, k)
    assert found.tolist() == expected.tolist()
    assert np.allclose(sims, expected_sims, atol=1e-5)


@pytest.mark.parametrize("exact_below", [10**9, 500])
def test_sync_touches_only_what_differs(tmp_path: Path, exact_below: int) -> None:
    """After a load, sync with the store's rows adds new ids, drops gone ones and re-adds a reused id."""
    base = clustered(1000, seed=9)
    index = VectorIndex(DIM, exact_below=exact_below, build_threads=1)
    index.add(np.arange(1000), base)
    index.save(tmp_path / "v")
    loaded = VectorIndex.load(tmp_path / "v", DIM, exact_below=exact_below)
    assert loaded is not None
    ids = np.concatenate([np.arange(100, 1000), [1000, 1001]])
    vectors = np.vstack([base[100:], clustered(2, seed=10)])
    vectors[0] = -vectors[0]  # id 100 now names another row (its old one was deleted and the id reused)
    assert loaded.sync(ids, vectors) == (3, 100)
    assert sorted(loaded.ids().tolist()) == ids.tolist()
    assert loaded.search(vectors[0], 1)[0].tolist() == [100]
    assert loaded.sync(ids, vectors) == (0, 0)


def test_index_path_beside_sqlite_or_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert index_path(f"sqlite:///{tmp_path / 'andon.db'}", "a/b") == tmp_path / "andon.db.vectors" / "a_b"
    assert index_path("sqlite://", "x") is None
    assert index_path("sqlite:///:memory:", "x") is None
    monkeypatch.setenv("ANDON_CACHE_DIR", str(tmp_path / "cache"))
    one = index_path("postgresql+psycopg://u:secret@127.0.0.1:5432/andon", "x")
    other = index_path("postgresql+psycopg://u:secret@127.0.0.1:5432/other", "x")
    assert one is not None and other is not None and one != other
    assert one.is_relative_to(tmp_path / "cache" / "vectors") and "secret" not in str(one)


def test_semantic_cache_reuses_the_saved_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second cache over the same SQLite file loads the vectors the first saved, and still hits."""
    config = WorkspaceConfig.model_validate(
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
    monkeypatch.setattr(cache_module, "SAVE_AFTER", 1)
    embedder = default_embedder()
    url = f"sqlite:///{tmp_path / 'andon.db'}"

    async def scenario() -> None:
        with Store.open(url) as store:
            first = SemanticCache(store, config, embedder=embedder)
            await first.store("faq", "v1", "t", {"question": "환불은 어떻게 받나요?"}, "answer", None, "tr1")
            assert await first.lookup("faq", "v1", "t", {"question": "사과 주문"}) is None  # loads, then saves
            files = list((tmp_path / "andon.db.vectors").iterdir())
            assert files, "the index file was not written beside the store"
            second = SemanticCache(store, config, embedder=embedder)
            found = await second.lookup("faq", "v1", "t", {"question": "환불은 어떻게 받나요"})
            assert found is not None and found.hit == "semantic" and found.output_text == "answer"

    asyncio.run(scenario())


def test_knowledge_dense_search_saves_and_syncs_its_index(tmp_path: Path) -> None:
    """Dense search writes its index beside the SQLite file; after a document is added the next search's
    index holds exactly the chunks of the base again, and a file of the chunks removed is never served."""
    from andon.knowledge import retrieval
    from andon.knowledge.ingest import add_paths

    embedder = default_embedder()
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "refund.md").write_text("# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다.\n", encoding="utf-8")
    (folder / "ship.md").write_text("# 배송\n\n배송은 보통 이틀 걸립니다.\n", encoding="utf-8")
    with Store.open(f"sqlite:///{tmp_path / 'k.db'}") as store:
        add_paths(store, "help", [folder], embedder=embedder)
        assert retrieval.search(store, "help", "환불 기한", k=1, mode="dense", embedder=embedder)
        saved = [p for p in (tmp_path / "k.db.vectors").iterdir() if not p.name.endswith(".json")]
        assert len(saved) == 1
        (folder / "ship.md").unlink()
        (folder / "account.md").write_text("# 계정\n\n비밀번호는 설정에서 바꿉니다.\n", encoding="utf-8")
        add_paths(store, "help", [folder], embedder=embedder)
        hits = retrieval.search(store, "help", "배송 기간", k=10, mode="dense", embedder=embedder)
        chunks = {c.id for c in store.knowledge_chunks("help")}
        assert {h.chunk.id for h in hits} <= chunks
        loaded = VectorIndex.load(saved[0], embedder.dim)
        assert loaded is not None
        assert set(loaded.ids().tolist()) == {retrieval.vector_key(i) for i in chunks}


# --- the graph's storage precision (the semantic cache stores f16) -----------------------------------------


def test_recall_at_10_reaches_0_99_at_the_semantic_cache_dtype(sample: Sample) -> None:
    """The fixed sample (4,000 clustered vectors, 200 queries), one build thread: the same graph every run."""
    from andon.gateway.semcache.index import VECTOR_DTYPE

    base, ids, queries = sample
    index = VectorIndex(DIM, exact_below=500, build_threads=1, dtype=VECTOR_DTYPE)
    index.add(ids, base)
    assert index.approximate and index.dtype == VECTOR_DTYPE
    assert recall_at(index, base, ids, queries, 10) >= 0.99


@pytest.mark.parametrize("dtype", ["f16", "i8"])
def test_a_quantized_graph_syncs_without_re_adding_its_rows(tmp_path: Path, dtype: str) -> None:
    """The graph's rounding is not a changed row: a second sync with the same rows touches nothing."""
    base = clustered(1000, seed=23)
    index = VectorIndex(DIM, exact_below=200, build_threads=1, dtype=dtype)
    index.add(np.arange(1000), base)
    held = index.vectors_of([0, 1])
    assert np.allclose(np.linalg.norm(held, axis=1), 1.0, atol=2e-2)
    index.save(tmp_path / "v")
    loaded = VectorIndex.load(tmp_path / "v", DIM, exact_below=200, dtype=dtype)
    assert loaded is not None and loaded.dtype == dtype
    changed = base.copy()
    changed[5] = -changed[5]
    assert loaded.sync(np.arange(1000), changed) == (1, 0)
    assert loaded.sync(np.arange(1000), changed) == (0, 0)
    assert loaded.search(changed[5], 1)[0].tolist() == [5]


def test_a_graph_saved_at_another_dtype_is_not_loaded(tmp_path: Path) -> None:
    index = VectorIndex(DIM, exact_below=200, build_threads=1, dtype="f32")
    index.add(np.arange(300), clustered(300, seed=24))
    index.save(tmp_path / "v")
    assert VectorIndex.load(tmp_path / "v", DIM, exact_below=200, dtype="f16") is None
    assert VectorIndex.load(tmp_path / "v", DIM, exact_below=200) is not None
    with pytest.raises(ValueError, match="dtype"):
        VectorIndex(DIM, dtype="f64")
