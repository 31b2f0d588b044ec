"""The gateway's answer cache on SQLite and PostgreSQL, with the real offline embedder.

Exact and semantic hits, the reversal guard ("A가 B에게" / "B가 A에게"), TTL, isolation by feature, version
and tenant, errors never cached, judges (a callable, and ones built from a workspace over a loopback stub).
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted, StubServer
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import WorkspaceConfig
from andon.embeddings import default_embedder
from andon.engine.pipeline import Outcome
from andon.errors import ConfigError
from andon.gateway.semcache.cache import DEFAULT_THRESHOLD, REFRESH_S, SemanticCache
from andon.gateway.semcache.guard import mismatch, request_shape
from andon.gateway.semcache.judge import judge_verdict, judges_for, workspace_judge
from andon.gateway.semcache.keys import key_from_text, request_key, scoped_key_hash
from andon.gateway.types import AnswerCache
from andon.store import Store
from andon.workspace import Workspace

SENT = "철수가 영희에게 돈을 보냈다"
REVERSED = "영희가 철수에게 돈을 보냈다"
SCRAMBLED = "영희에게 철수가 돈을 보냈다"  # same meaning, Korean word order moved
T0 = 1_800_000_000.0


class Clock:
    """A settable wall clock (seconds since the epoch) for TTL and refresh tests."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make_config(**cache: Any) -> WorkspaceConfig:
    """Features: faq (cache on, with ``cache`` overrides), other (cache on), off (cache off), hashed (hash-only)."""
    version = {"provider": "stub", "prompt": "{{ question }}"}
    image_version = {"provider": "stub", "prompt": "{{ question }}", "images": ["photo"]}
    return WorkspaceConfig.model_validate(
        {
            "providers": {"stub": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}},
            "features": {
                "faq": {
                    "versions": {"v1": version, "v2": image_version},
                    "serve": {"cache": {"enabled": True, **cache}},
                },
                "other": {"versions": {"v1": version}, "serve": {"cache": {"enabled": True}}},
                "off": {"versions": {"v1": version}},
                "hashed": {
                    "versions": {"v1": version},
                    "serve": {"cache": {"enabled": True}, "data_use": {"inputs": "hash"}},
                },
            },
        }
    )


def q(text: str, **more: Any) -> dict[str, Any]:
    return {"question": text, **more}


def cosine(a: str, b: str) -> float:
    va, vb = default_embedder().embed([a, b])
    return float(va @ vb)


# --- exact and semantic hits ---------------------------------------------------------------------------------


async def test_cache_satisfies_the_gateway_protocol(store: Store) -> None:
    cache: AnswerCache = SemanticCache(store, make_config())
    assert await cache.lookup("faq", "v1", "t", q("아무거나")) is None


async def test_exact_hit_returns_the_stored_answer(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("faq", "v1", "t", q("배송은 언제 오나요?", lang="ko"), "내일 옵니다", {"eta": 1}, "trc_1")
    found = await cache.lookup("faq", "v1", "t", {"lang": "ko", "question": "배송은 언제 오나요?"})
    assert found is not None
    assert (found.hit, found.output_text, found.output_json, found.trace_id) == (
        "exact",
        "내일 옵니다",
        {"eta": 1},
        "trc_1",
    )
    assert found.similarity == 1.0


async def test_paraphrase_is_a_semantic_hit(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "취소 방법: …", None, "trc_1")
    found = await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요"))
    assert found is not None and found.hit == "semantic"
    assert found.similarity >= DEFAULT_THRESHOLD
    assert found.output_text == "취소 방법: …"
    assert await cache.lookup("faq", "v1", "t", q("오늘 날씨가 어때요?")) is None


async def test_reversal_scores_above_threshold_but_is_refused_by_the_guard(store: Store) -> None:
    assert cosine(SENT, REVERSED) >= DEFAULT_THRESHOLD  # the embedding alone would serve it (GPTCache #694)
    cache = SemanticCache(store, make_config())
    await cache.store("faq", "v1", "t", q(SENT), "철수 → 영희", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", q(REVERSED)) is None
    assert cache.stats["guard_veto"] == 1
    found = await cache.lookup("faq", "v1", "t", q(SCRAMBLED))
    assert found is not None and found.hit == "semantic" and found.output_text == "철수 → 영희"


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("A가 B에게 보냈다", "B가 A에게 보냈다"),
        ("사과 3개를 주문했어요", "사과 5개를 주문했어요"),
        ("주문을 취소해 주세요", "주문을 취소하지 마세요"),
        ("Alice sent Bob the money", "Bob sent Alice the money"),
    ],
)
async def test_guard_refuses_swaps_numbers_and_negation(store: Store, cached: str, asked: str) -> None:
    cache = SemanticCache(store, make_config(threshold=0.5))
    await cache.store("faq", "v1", "t", q(cached), "answer", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", q(asked)) is None
    assert cache.stats["guard_veto"] == 1


async def test_threshold_is_per_feature(store: Store) -> None:
    strict = SemanticCache(store, make_config(threshold=0.999))
    await strict.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    assert await strict.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None
    assert await strict.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요")) is not None  # exact still


async def test_semantic_off_keeps_exact_only(store: Store) -> None:
    cache = SemanticCache(store, make_config(semantic=False))
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None
    found = await cache.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요"))
    assert found is not None and found.hit == "exact"


async def test_fields_choose_the_key(store: Store) -> None:
    cache = SemanticCache(store, make_config(fields=["question"]))
    await cache.store("faq", "v1", "t", q("환불 정책 알려줘", request_id="r1"), "answer", None, "trc_1")
    found = await cache.lookup("faq", "v1", "t", q("환불 정책 알려줘", request_id="r2"))
    assert found is not None and found.hit == "exact"


async def test_other_variables_must_match_for_a_semantic_hit(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store(
        "faq", "v2", "t", q("이 사진 속 메뉴가 뭐예요?", photo="data:image/png;base64,AAAA"), "김밥", None, "1"
    )
    same_photo = q("이 사진 속 메뉴는 뭐예요?", photo="data:image/png;base64,AAAA")
    other_photo = q("이 사진 속 메뉴는 뭐예요?", photo="data:image/png;base64,BBBB")
    assert await cache.lookup("faq", "v2", "t", other_photo) is None
    found = await cache.lookup("faq", "v2", "t", same_photo)
    assert found is not None and found.hit == "semantic"
    stored = store.semcache_index_rows("faq", "v2", "t")
    assert "AAAA" not in stored[0].text  # images are kept by hash, not by content


# --- isolation, TTL, errors ------------------------------------------------------------------------------------


async def test_isolation_by_feature_version_and_tenant(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("faq", "v1", "tenant-a", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    for feature, version, tenant in (("other", "v1", "tenant-a"), ("faq", "v9", "tenant-a"), ("faq", "v1", "tenant-b")):
        assert await cache.lookup(feature, version, tenant, q("주문을 취소하고 싶어요")) is None  # not exact
        assert await cache.lookup(feature, version, tenant, q("주문 취소하고 싶어요")) is None  # not semantic
    assert await cache.lookup("faq", "v1", "tenant-a", q("주문 취소하고 싶어요")) is not None


async def test_disabled_or_unknown_feature_neither_stores_nor_serves(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("off", "v1", "t", q("질문"), "answer", None, "trc_1")
    await cache.store("nope", "v1", "t", q("질문"), "answer", None, "trc_1")
    assert store.semcache_count() == 0
    assert await cache.lookup("off", "v1", "t", q("질문")) is None


async def test_expired_entries_are_never_served_and_are_pruned(store: Store) -> None:
    clock = Clock()
    cache = SemanticCache(store, make_config(ttl_s=60), clock=clock)
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    clock.now += 59
    assert await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is not None
    clock.now += 2
    assert await cache.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요")) is None
    assert await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None
    assert store.semcache_count() == 1
    assert await cache.prune() == 1
    assert store.semcache_count() == 0


async def test_a_shortened_ttl_applies_to_entries_already_stored(store: Store) -> None:
    clock = Clock()
    await SemanticCache(store, make_config(ttl_s=3600), clock=clock).store(
        "faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1"
    )
    clock.now += 120
    shorter = SemanticCache(store, make_config(ttl_s=60), clock=clock)
    assert await shorter.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요")) is None
    assert await shorter.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None


def _outcome(status: str, text: str | None) -> Outcome:
    moment = datetime.now(UTC)
    error = "HTTP 500" if status == "error" else None
    return Outcome("faq", "v1", "v1", status, moment, moment, output_text=text, error=error)


async def test_errors_and_empty_answers_are_never_cached(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    assert not await cache.store_outcome("faq", "t", q("질문 하나"), _outcome("error", "partial reply"), "trc_1")
    await cache.store("faq", "v1", "t", q("질문 둘"), None, None, "trc_2")
    assert store.semcache_count() == 0
    assert await cache.lookup("faq", "v1", "t", q("질문 하나")) is None
    assert await cache.store_outcome("faq", "t", q("질문 하나"), _outcome("ok", "answer"), "trc_3")
    found = await cache.lookup("faq", "v1", "t", q("질문 하나"))
    assert found is not None and found.trace_id == "trc_3"


async def test_hash_only_inputs_keep_no_text_and_match_exactly_only(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("hashed", "v1", "t", q("주민번호 900101-1234567 확인"), "answer", None, "trc_1")
    assert store.semcache_index_rows("hashed", "v1", "t") == []  # no embedding kept
    key = scoped_key_hash("hashed", "v1", "t", request_key(q("주민번호 900101-1234567 확인")))
    exact = store.semcache_exact("hashed", "v1", "t", key)
    assert exact is not None and exact.text == ""
    assert await cache.lookup("hashed", "v1", "t", q("주민번호 900101-1234567 확인")) is not None
    assert await cache.lookup("hashed", "v1", "t", q("주민번호 900101-1234567 확인해줘")) is None


async def test_hits_are_counted_in_the_store(store: Store) -> None:
    cache = SemanticCache(store, make_config())
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    await cache.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요"))
    await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요"))
    await cache.flush_hits()
    entry = store.semcache_exact(
        "faq", "v1", "t", scoped_key_hash("faq", "v1", "t", request_key(q("주문을 취소하고 싶어요")))
    )
    assert entry is not None and entry.hits == 2


# --- the index across instances (replicas) -------------------------------------------------------------------


async def test_a_new_instance_loads_the_index_from_the_store_and_refreshes(store: Store) -> None:
    clock = Clock()
    writer = SemanticCache(store, make_config(), clock=clock)
    reader = SemanticCache(store, make_config(), clock=clock)
    await writer.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "취소", None, "trc_1")
    assert await reader.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is not None  # lazy load
    await writer.store("faq", "v1", "t", q("비밀번호를 잊어버렸어요"), "재설정", None, "trc_2")
    assert await reader.lookup("faq", "v1", "t", q("비밀번호를 까먹었어요")) is None  # index not refreshed yet
    clock.now += REFRESH_S + 1
    found = await reader.lookup("faq", "v1", "t", q("비밀번호를 까먹었어요"))
    assert found is not None and found.output_text == "재설정"


# --- judges ---------------------------------------------------------------------------------------------------


async def test_judge_must_confirm_each_semantic_hit(store: Store) -> None:
    asked: list[tuple[str, str]] = []
    verdict = {"same": False}

    async def judge(request_text: str, cached_text: str) -> bool:
        asked.append((request_text, cached_text))
        return verdict["same"]

    cache = SemanticCache(store, make_config(judge="stub"), judge={"faq": judge})
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None
    assert asked == [("주문 취소하고 싶어요", "주문을 취소하고 싶어요")]
    assert cache.stats["judge_veto"] == 1
    verdict["same"] = True
    found = await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요"))
    assert found is not None and found.hit == "semantic"
    assert await cache.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요")) is not None
    assert len(asked) == 2  # an exact hit needs no judge


async def test_configured_judge_that_is_missing_fails_closed(store: Store) -> None:
    cache = SemanticCache(store, make_config(judge="stub"))
    await cache.store("faq", "v1", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
    assert await cache.lookup("faq", "v1", "t", q("주문 취소하고 싶어요")) is None
    assert cache.stats["judge_missing"] == 1
    assert await cache.lookup("faq", "v1", "t", q("주문을 취소하고 싶어요")) is not None


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(reply='{"same": true}') as server:
        yield server


def _workspace(root: Path, base_url: str) -> Workspace:
    (root / "judge_rules.py").write_text(
        "def same(variables):\n    return {'same': variables['request'][:2] == variables['cached'][:2]}\n",
        encoding="utf-8",
    )
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            providers:
              stub: {{type: openai, base_url: "{base_url}", api_key: sk-test, model: stub-model, max_retries: 0}}
            features:
              faq:
                versions:
                  v1: {{provider: stub, prompt: "{{{{ question }}}}"}}
                serve: {{cache: {{enabled: true, judge: stub}}}}
              rules:
                versions:
                  v1: {{python: "judge_rules:same"}}
              plain:
                versions:
                  v1: {{provider: stub, prompt: "{{{{ question }}}}"}}
                serve: {{cache: {{enabled: true, judge: "rules:v1"}}}}
            """
        ),
        encoding="utf-8",
    )
    return Workspace.open(root)


async def test_provider_judge_over_http_confirms_vetoes_and_fails_closed(tmp_path: Path, stub: StubServer) -> None:
    ws = _workspace(tmp_path, stub.base_url)
    try:
        judge = workspace_judge(ws, "stub")
        stub.program(Scripted(content='{"same": false}'), Scripted(status=500))
        assert await judge("주문 취소", "주문을 취소") is False
        assert await judge("주문 취소", "주문을 취소") is False  # the provider failed: no confirmation
        assert await judge("주문 취소", "주문을 취소") is True  # the stub's default reply
        sent = stub.received[0].body
        assert sent["response_format"]["type"] == "json_schema"
        user = "".join(str(m["content"]) for m in sent["messages"] if m["role"] == "user")
        assert "주문 취소" in user and "주문을 취소" in user
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_judges_for_a_workspace_cover_provider_and_version_refs(tmp_path: Path, stub: StubServer) -> None:
    ws = _workspace(tmp_path, stub.base_url)
    try:
        judges = judges_for(ws)
        assert set(judges) == {"faq", "plain"}
        assert await judges["plain"]("주문 취소", "주문을 취소") is True  # a python rule version
        assert await judges["plain"]("배송 문의", "주문을 취소") is False
        cache = SemanticCache.for_workspace(ws)
        await cache.store("plain", "v9", "t", q("주문을 취소하고 싶어요"), "answer", None, "trc_1")
        assert await cache.lookup("plain", "v9", "t", q("주문 취소하고 싶어요")) is not None
        with pytest.raises(ConfigError, match="names no provider"):
            workspace_judge(ws, "nobody")
    finally:
        await ws.aclose_providers()
        ws.close()


@pytest.mark.parametrize(
    ("text", "parsed", "expected"),
    [
        ('{"same": true}', {"same": True}, True),
        ('{"same": false}', {"same": False}, False),
        ("Yes.", None, True),
        ("아니요, 다른 요청입니다", None, False),
        ("네, 같은 요청입니다", None, True),
        ("maybe", None, False),
        (None, True, True),
    ],
)
def test_judge_verdict_reads_json_and_text(text: str | None, parsed: Any, expected: bool) -> None:
    moment = datetime.now(UTC)
    outcome = Outcome("j", "id", "v", "ok", moment, moment, output_text=text, output_json=parsed)
    assert judge_verdict(outcome) is expected
    assert judge_verdict(Outcome("j", "id", "v", "error", moment, moment, output_text="yes")) is False


# --- properties of the key and the guard ----------------------------------------------------------------------

_values = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none())


@given(st.dictionaries(st.text(min_size=1, max_size=8), _values, min_size=1, max_size=5), st.randoms())
def test_key_ignores_order_and_round_trips_through_its_text(variables: dict[str, Any], rnd: Any) -> None:
    items = list(variables.items())
    rnd.shuffle(items)
    key = request_key(variables)
    assert request_key(dict(items)) == key
    assert key_from_text(key.text) == key


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), min_size=1, max_size=4), st.data())
def test_changing_any_value_changes_the_exact_key(variables: dict[str, str], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(variables)))
    changed = {**variables, name: variables[name] + "!"}
    assert request_key(changed).key_hash != request_key(variables).key_hash


_korean_words = st.sampled_from(
    [
        "철수가",
        "영희에게",
        "돈을",
        "보냈다",
        "3개",
        "두",
        "안",
        "주문을",
        "취소하지",
        "마세요",
        "서울에서",
        "부산으로",
        "Bob",
        "sent",
    ]
)
_sentences = st.lists(_korean_words, min_size=1, max_size=7).map(" ".join)


@given(_sentences, _sentences)
def test_guard_is_symmetric_and_accepts_identical_requests(a: str, b: str) -> None:
    shape_a, shape_b = request_shape(a), request_shape(b)
    assert mismatch(shape_a, shape_a) is None
    assert (mismatch(shape_a, shape_b) is None) == (mismatch(shape_b, shape_a) is None)


def test_request_shape_reads_roles_numbers_and_negation() -> None:
    shape = request_shape("A가 B에게 사과 3개를 안 보냈다")
    assert ("a", "S") in shape.tokens and ("b", "D") in shape.tokens
    assert shape.numbers == ("3",)
    assert shape.negations == 1
    assert request_shape("두 명 예약").numbers == request_shape("2명 예약").numbers
