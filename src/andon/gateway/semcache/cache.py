"""The answer cache itself: exact and semantic lookups over the store, one feature's settings at a time."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from andon.config.schema import CacheConfig, FeatureConfig, WorkspaceConfig
from andon.embeddings import Embedder, default_embedder
from andon.gateway.redact import StoragePolicy
from andon.gateway.semcache.guard import mismatch, request_shape
from andon.gateway.semcache.index import VECTOR_DTYPE, Index, Vector
from andon.gateway.semcache.judge import Judge, confirmed, judges_for
from andon.gateway.semcache.keys import RequestKey, key_from_text, request_key, scoped_key_hash, variables_read
from andon.gateway.semcache.thresholds import LearnedThresholds, Prior, default_prior
from andon.gateway.types import CachedAnswer
from andon.store.semcache import CacheEntry, CacheIndexRow, NewCacheEntry
from andon.vectors import VectorIndex, index_path
from andon.versions.canonical import canonical_json

if TYPE_CHECKING:
    from andon.engine.pipeline import Outcome
    from andon.store import Store
    from andon.workspace import Workspace

# The shipped cosine thresholds for a semantic hit, chosen on KorSTS *train* with the guard on, by the rule
# "the lowest threshold (0.01 steps) whose hit precision is at least P"; pairs scored >= 4.0 should hit, pairs
# scored <= 2.0 must not. P = 0.90 for DEFAULT_THRESHOLD; P = 0.97 for GENERATION_THRESHOLD, the default of
# features whose output is free text the model wrote for one request (a review reply), where a wrong hit is a
# wrong personal answer. Measured with `.venv/bin/python -m bench.semantic_cache --skip-latency` (all figures
# in bench/out/semantic_cache.json), embedder use-multilingual-v3:
#   train, 0.71, guard on:  precision 0.905, recall 0.594, false-hit rate 0.045
#   dev,   0.71, guard on:  precision 0.956, recall 0.659, false-hit rate 0.012
#   train, 0.82, guard on:  precision 0.971, recall 0.379, false-hit rate 0.008
#   dev,   0.82, guard on:  precision 0.975, recall 0.451, false-hit rate 0.005
#   (dev is reported only, never used to choose; before the polarity checks the first rule gave 0.72)
# The hand-written must-miss sets (roles, numbers, negation, sentiment flips, antonyms; Korean and English)
# pass the guard 0 times; opposites written after the word list was frozen still pass 10 of 25 (4 of 25
# above 0.82): a judge (``cache.judge``) is what catches opposites the list does not know.
DEFAULT_THRESHOLD = 0.71
GENERATION_THRESHOLD = 0.82
MAX_CANDIDATES = 8  # nearest entries above the threshold that the guard looks at, best first
MAX_JUDGED = 2  # judge calls per lookup at most: each is a model call
REFRESH_S = 5.0  # how stale a replica's index may get before it reads rows other replicas added
HITS_FLUSH_S = 5.0  # hit counts are written in batches, not one write transaction per hit
PRUNE_EVERY_S = 300.0  # how often a store() also deletes expired rows
SAVE_AFTER = 2000  # vectors added since the last save before the index file beside the store is rewritten
_EMBED_MEMO = 1024  # recent embeddings kept, so the store() after a missed lookup does not embed again

_log = logging.getLogger(__name__)


# --- the cache ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """One feature's cache settings, resolved against the shipped defaults."""

    semantic: bool
    threshold: float
    ttl_s: int
    fields: tuple[str, ...] | None
    image_names: frozenset[str]
    judge_name: str | None
    keep_text: bool  # False when the feature keeps inputs as a hash only: then exact matches only
    policy: StoragePolicy  # the feature's data_use: what the store may keep
    reads: frozenset[str] | None  # variables the versions' templates read; None = any (Python steps)
    shared: bool  # answers served across API keys (of one tenant)
    max_error: float | None = None  # learned per-entry thresholds under this error rate; None: fixed threshold
    lowest: float = 0.0  # with learned thresholds: the feature's own ``threshold``, below which none goes

    def owner(self, api_key: str | None) -> str:
        """The API key partition an entry belongs to: "" when the feature shares, or there is no key."""
        return "" if self.shared or api_key is None else api_key


@dataclass(frozen=True, slots=True)
class Storable:
    """What :func:`storable` decided for one answer under a feature's ``data_use``."""

    keep: bool  # False: the answer holds data the policy would redact; it is not cached
    text: str  # the cache key as stored: raw (full), redacted (redacted) or "" (hash)
    semantic: bool  # False: the request holds such data; exact matches only, no embedding kept


def storable(settings: CacheSettings, key: RequestKey, output_text: str | None, output_json: Any) -> Storable:
    """Apply the feature's storage policy to one answer and its request before anything is written."""
    policy = settings.policy
    if policy.mode == "full":
        return Storable(True, key.text, settings.semantic)
    # A redacted answer served back would be wrong ("[PHONE]" instead of the number), so none is kept.
    keep = policy.text(output_text) == output_text and policy.value(output_json) == output_json
    if policy.mode == "hash":
        return Storable(keep, "", False)
    kept = json.loads(key.text)
    redacted = policy.value(kept)
    if redacted == kept:
        return Storable(keep, key.text, settings.semantic)
    return Storable(keep, canonical_json(redacted), False)


def _holds_personal_data(settings: CacheSettings, key: RequestKey) -> bool:
    """Whether the feature's policy would redact part of the request (then it is matched exactly only)."""
    if settings.policy.mode == "full":
        return False
    kept = json.loads(key.text)
    return bool(settings.policy.value(kept) != kept)


class SemanticCache:
    """Exact and semantic answer cache over the store, isolated by feature, version id, tenant and API key.

    ``judge`` is one :data:`Judge` for every feature, or a mapping feature → judge. A feature whose
    ``cache.judge`` is set but that has no judge here never serves a semantic hit (it fails closed).
    """

    def __init__(
        self,
        store: Store,
        config: WorkspaceConfig,
        *,
        embedder: Embedder | None = None,
        judge: Judge | Mapping[str, Judge] | None = None,
        clock: Callable[[], float] = time.time,
        prior: Prior | None = None,
    ) -> None:
        """``prior``: where learned thresholds start (default: the one fitted on KorSTS train)."""
        self._store = store
        self._clock = clock  # seconds since the epoch: TTLs, refreshes and flushes all read this one clock
        self._config = config
        self._embedder = embedder
        self._judge = judge
        self._settings: dict[str, CacheSettings | None] = {}
        self._indexes: dict[tuple[str, str, str, str], Index] = {}
        self._loading: dict[tuple[str, str, str, str], asyncio.Lock] = {}
        self._prior = prior
        self._learned: dict[str, LearnedThresholds] = {}
        self._memo: OrderedDict[str, Vector] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._last_prune = clock()
        self._hits: Counter[int] = Counter()
        self._last_hits_flush = clock()
        self.stats: Counter[str] = Counter()
        """Counts: exact_hit, semantic_hit, miss, guard_veto, judge_veto, judge_missing, stored, skipped,
        skipped_personal (an answer the feature's data_use would redact), below_learned (a candidate under its
        entry's learned threshold), error."""

    @classmethod
    def for_workspace(cls, ws: Workspace, *, embedder: Embedder | None = None) -> SemanticCache:
        """A cache over ``ws``'s store and config, with each feature's ``cache.judge`` built by :func:`judges_for`."""
        return cls(ws.store, ws.config, embedder=embedder, judge=judges_for(ws))

    def settings(self, feature: str) -> CacheSettings | None:
        """The feature's cache settings, or None when its cache is off (or the feature is unknown)."""
        if feature not in self._settings:
            self._settings[feature] = self._resolve(feature)
        return self._settings[feature]

    def _resolve(self, feature: str) -> CacheSettings | None:
        spec = self._config.features.get(feature)
        if spec is None or not spec.serve.cache.enabled:
            return None
        cache: CacheConfig = spec.serve.cache
        steps = [step for v in spec.versions.values() for step in v.normalized_steps()]
        images = frozenset(name for step in steps for name in step.images)
        data_use = spec.serve.data_use
        keep_text = data_use.inputs != "hash"
        if cache.threshold is not None:
            threshold = cache.threshold
        elif cache.judge is None and writes_free_text(spec):
            threshold = GENERATION_THRESHOLD
        else:
            threshold = DEFAULT_THRESHOLD
        return CacheSettings(
            semantic=cache.semantic and keep_text,
            threshold=threshold,
            ttl_s=cache.ttl_s,
            fields=tuple(cache.fields) if cache.fields else None,
            image_names=images,
            judge_name=cache.judge,
            keep_text=keep_text,
            policy=StoragePolicy.of(data_use.inputs, data_use.redact),
            reads=variables_read(steps),
            shared=cache.share_across_keys,
            max_error=cache.max_error if cache.thresholds == "learned" else None,
            lowest=cache.threshold if cache.threshold is not None else 0.0,
        )

    async def warm(self) -> None:
        """Load the embedding model now (about two seconds) rather than in the first request."""
        embedder = self._embedder_or_default()
        await asyncio.to_thread(embedder.embed, ["warm up"])

    async def lookup(
        self, feature: str, version_id: str, tenant: str, variables: dict[str, Any], *, api_key: str | None = None
    ) -> CachedAnswer | None:
        """A cached answer for these variables (exact first, then semantic), or None.

        ``api_key`` is the caller's key id: only its own entries are served, unless the feature shares.
        A cache that fails (store unreachable, embedder missing) is a miss, logged: it must never fail a call.
        """
        settings = self.settings(feature)
        if settings is None:
            return None
        try:
            return await self._lookup(feature, version_id, tenant, settings.owner(api_key), variables, settings)
        except Exception:
            self.stats["error"] += 1
            _log.warning("semantic cache lookup failed for feature %r; treated as a miss", feature, exc_info=True)
            return None

    async def _lookup(
        self,
        feature: str,
        version_id: str,
        tenant: str,
        owner: str,
        variables: dict[str, Any],
        settings: CacheSettings,
    ) -> CachedAnswer | None:
        key = request_key(variables, settings.fields, settings.image_names, settings.reads)
        now, not_before = self._window(settings)
        entry = await asyncio.to_thread(
            partial(self._store.semcache_exact, api_key_id=owner, now=now, not_before=not_before),
            feature,
            version_id,
            tenant,
            scoped_key_hash(feature, version_id, tenant, key, owner),
        )
        if entry is not None and _is_answer(entry):
            found: CachedAnswer | None = CachedAnswer(
                "exact", entry.output_text, entry.output_json, 1.0, entry.trace_id
            )
            self._hits[entry.id] += 1
        elif settings.semantic and key.free_text and not _holds_personal_data(settings, key):
            found = await self._semantic(feature, version_id, tenant, owner, key, settings)
        else:
            found = None
        self.stats[f"{found.hit}_hit" if found else "miss"] += 1
        if self._hits and self._clock() - self._last_hits_flush > HITS_FLUSH_S:
            await self.flush_hits()
        return found

    async def store(
        self,
        feature: str,
        version_id: str,
        tenant: str,
        variables: dict[str, Any],
        output_text: str | None,
        output_json: Any,
        trace_id: str,
        *,
        api_key: str | None = None,
    ) -> None:
        """Keep a successful answer; an empty one (no text, no JSON) is never kept. Failures are logged only."""
        settings = self.settings(feature)
        if settings is None or (output_text is None and output_json is None):
            self.stats["skipped"] += 1
            return
        try:
            await self._store_answer(
                settings, feature, version_id, tenant, settings.owner(api_key), variables, output_text, output_json,
                trace_id,
            )  # fmt: skip
        except Exception:
            self.stats["error"] += 1
            _log.warning("semantic cache store failed for feature %r; answer not cached", feature, exc_info=True)

    async def _store_answer(
        self,
        settings: CacheSettings,
        feature: str,
        version_id: str,
        tenant: str,
        owner: str,
        variables: dict[str, Any],
        output_text: str | None,
        output_json: Any,
        trace_id: str,
    ) -> None:
        key = request_key(variables, settings.fields, settings.image_names, settings.reads)
        kept = storable(settings, key, output_text, output_json)
        if not kept.keep:
            self.stats["skipped_personal"] += 1
            return
        vector = await self._embed(key.free_text) if kept.semantic and key.free_text else None
        now = datetime.fromtimestamp(self._clock(), UTC)
        entry = NewCacheEntry(
            feature=feature,
            version_id=version_id,
            tenant=tenant,
            key_hash=scoped_key_hash(feature, version_id, tenant, key, owner),
            text=kept.text,
            embedding=None if vector is None else vector.astype(np.float32).tobytes(),
            output_text=output_text,
            output_json=output_json,
            trace_id=trace_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.ttl_s),
            api_key_id=owner,
        )
        row_id = await asyncio.to_thread(self._store.semcache_put, entry)
        self.stats["stored"] += 1
        index = self._indexes.get((feature, version_id, tenant, owner))
        if index is not None and vector is not None:
            stamp = now.timestamp()
            await asyncio.to_thread(
                index.add, [(row_id, vector, stamp, stamp + settings.ttl_s, key.free_text, key.scope)], stamp
            )
        if self._clock() - self._last_prune > PRUNE_EVERY_S:
            await self.prune()

    async def store_outcome(
        self,
        feature: str,
        tenant: str,
        variables: dict[str, Any],
        outcome: Outcome,
        trace_id: str,
        *,
        api_key: str | None = None,
    ) -> bool:
        """Keep ``outcome``'s answer if it succeeded; returns whether it was offered to the store."""
        kept = self.settings(feature) is not None and outcome.status == "ok"
        kept = kept and (outcome.output_text is not None or outcome.output_json is not None)
        if not kept:
            self.stats["skipped"] += 1
            return False
        await self.store(
            feature,
            outcome.version_id,
            tenant,
            variables,
            outcome.output_text,
            outcome.output_json,
            trace_id,
            api_key=api_key,
        )
        return True

    async def flush_hits(self) -> None:
        """Write the hit counts gathered since the last flush (also done every few seconds by lookups)."""
        hits, self._hits = self._hits, Counter()
        self._last_hits_flush = self._clock()
        await asyncio.to_thread(self._store.semcache_add_hits, dict(hits))

    async def prune(self) -> int:
        """Delete expired entries from the store and from memory; returns how many rows went."""
        self._last_prune = now = self._clock()
        await self.flush_hits()
        removed = await asyncio.to_thread(self._store.semcache_prune, datetime.fromtimestamp(now, UTC))
        for index in list(self._indexes.values()):
            index.forget_expired(now)
        return removed

    # internals

    async def _semantic(
        self, feature: str, version_id: str, tenant: str, owner: str, key: RequestKey, settings: CacheSettings
    ) -> CachedAnswer | None:
        judge = self._judge_for(feature, settings)
        if settings.judge_name is not None and judge is None:
            self.stats["judge_missing"] += 1
            return None
        query = await self._embed(key.free_text)
        index = await self._index(feature, version_id, tenant, owner, query.shape[0])
        learned = self.learned(feature)
        threshold = settings.threshold if learned is None else learned.floor
        candidates = await asyncio.to_thread(
            index.search, query, threshold, self._clock(), settings.ttl_s, key.scope, MAX_CANDIDATES
        )
        shape = request_shape(key.free_text) if candidates else None
        judged = 0
        for candidate in candidates:
            assert shape is not None
            if learned is not None and candidate.similarity < learned.threshold(candidate.id):
                self.stats["below_learned"] += 1
                continue
            if mismatch(shape, request_shape(candidate.free_text)) is not None:
                self.stats["guard_veto"] += 1
                if learned is not None:  # a wrong hit the guard caught: evidence against this entry so near
                    learned.observe(candidate.id, candidate.similarity, correct=False)
                continue
            if judge is not None:
                if judged >= MAX_JUDGED:
                    break
                judged += 1
                verdict = await confirmed(judge, key.free_text, candidate.free_text)
                if learned is not None:
                    learned.observe(candidate.id, candidate.similarity, correct=verdict)
                if not verdict:
                    self.stats["judge_veto"] += 1
                    continue
            now, not_before = self._window(settings)
            entry = await asyncio.to_thread(
                partial(self._store.semcache_get, now=now, not_before=not_before), candidate.id
            )
            if entry is None:
                # Deleted (a user's traces, perhaps by another process) or expired: never a candidate again.
                self.forget([candidate.id])
                continue
            if _is_answer(entry):
                self._hits[entry.id] += 1
                return CachedAnswer(
                    "semantic", entry.output_text, entry.output_json, candidate.similarity, entry.trace_id
                )
        return None

    def learned(self, feature: str) -> LearnedThresholds | None:
        """The feature's learned per-entry thresholds, or None when its threshold is fixed."""
        settings = self.settings(feature)
        if settings is None or settings.max_error is None:
            return None
        learned = self._learned.get(feature)
        if learned is None:
            prior = self._prior if self._prior is not None else default_prior()
            learned = LearnedThresholds(prior, settings.max_error, lowest=settings.lowest)
            learned = self._learned.setdefault(feature, learned)
        return learned

    def observe(self, feature: str, entry_id: int, similarity: float, correct: bool) -> None:
        """Feedback on a semantic hit served from ``entry_id`` at ``similarity`` (e.g. a reviewer's verdict);
        it moves that entry's learned threshold, and does nothing for a feature whose threshold is fixed."""
        learned = self.learned(feature)
        if learned is not None:
            learned.observe(entry_id, similarity, correct)

    def forget(self, entry_ids: Collection[int]) -> int:
        """Drop entries deleted from the store from memory: index rows, their embeddings, pending hit counts."""
        ids = set(entry_ids)
        for learned in self._learned.values():
            learned.forget(ids)
        removed = 0
        for index in list(self._indexes.values()):
            texts = index.forget(ids)
            removed += len(texts)
            with self._memo_lock:
                for text in texts:
                    self._memo.pop(text, None)
        for entry_id in ids:
            self._hits.pop(entry_id, None)
        return removed

    def _window(self, settings: CacheSettings) -> tuple[datetime, datetime]:
        # Served only if unexpired AND younger than the feature's current TTL (it may have been shortened).
        now = self._clock()
        return datetime.fromtimestamp(now, UTC), datetime.fromtimestamp(now - settings.ttl_s, UTC)

    def _judge_for(self, feature: str, settings: CacheSettings) -> Judge | None:
        if self._judge is None:
            return None
        if isinstance(self._judge, Mapping):
            return self._judge.get(feature)
        return self._judge

    async def _index(self, feature: str, version_id: str, tenant: str, owner: str, dim: int) -> Index:
        scope = (feature, version_id, tenant, owner)
        index = self._indexes.get(scope)
        if index is not None and self._clock() - index.refreshed < REFRESH_S:
            return index
        lock = self._loading.setdefault(scope, asyncio.Lock())
        async with lock:  # one reader per scope: concurrent first lookups share one load
            index = self._indexes.get(scope)
            if index is None or self._clock() - index.refreshed >= REFRESH_S:
                index = await asyncio.to_thread(self._read_rows, scope, dim, index)
                index.refreshed = self._clock()
                self._indexes[scope] = index
        return index

    def _read_rows(self, scope: tuple[str, str, str, str], dim: int, index: Index | None) -> Index:
        """``index`` with the rows the store gained since it last read; a new one (its vectors loaded from the
        file beside the store and brought in step with the rows) when None."""
        feature, version_id, tenant, owner = scope
        path = self._vector_path(scope, dim)
        first = index is None
        if index is None:
            saved = VectorIndex.load(path, dim, background=True, dtype=VECTOR_DTYPE) if path is not None else None
            index = Index(dim, saved)
        now = datetime.fromtimestamp(self._clock(), UTC)
        rows = self._store.semcache_index_rows(
            feature, version_id, tenant, api_key_id=owner, after_id=index.max_id, now=now
        )
        settings = self.settings(feature)
        images = settings.image_names if settings else frozenset()
        fields = settings.fields if settings else None
        entries = [_index_row(row, images, fields) for row in rows]
        entries = [e for e in entries if e[1].shape == (dim,)]
        if first and entries:
            # Only vectors missing from the saved file, or different there, go into the graph again.
            ids = np.array([e[0] for e in entries], dtype=np.int64)
            index.unsaved = sum(index.vectors.sync(ids, np.stack([e[1] for e in entries])))
            index.add([(e[0], None, *e[2:]) for e in entries], self._clock())
        else:
            index.add(entries, self._clock())
        if path is not None and index.unsaved >= SAVE_AFTER:
            index.vectors.save(path)
            index.unsaved = 0
        return index

    def _vector_path(self, scope: tuple[str, str, str, str], dim: int) -> Path | None:
        digest = hashlib.sha256(json.dumps([*scope, dim]).encode()).hexdigest()[:32]
        return index_path(str(self._store.engine.url), f"semcache-{digest}")

    async def _embed(self, text: str) -> Vector:
        with self._memo_lock:
            remembered = self._memo.get(text)
            if remembered is not None:
                self._memo.move_to_end(text)
                return remembered
        embedder = self._embedder_or_default()
        vectors = await asyncio.to_thread(embedder.embed, [text])
        vector: Vector = vectors[0]
        with self._memo_lock:
            self._memo[text] = vector
            if len(self._memo) > _EMBED_MEMO:
                self._memo.popitem(last=False)
        return vector

    def _embedder_or_default(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder


def _is_answer(entry: CacheEntry) -> bool:
    return entry.output_text is not None or entry.output_json is not None


def _index_row(
    row: CacheIndexRow, images: frozenset[str], fields: Sequence[str] | None
) -> tuple[int, Vector, float, float, str, str]:
    key = key_from_text(row.text, images, fields)
    vector = np.frombuffer(row.embedding, dtype=np.float32)
    return row.id, vector, row.created_at.timestamp(), row.expires_at.timestamp(), key.free_text, key.scope


def writes_free_text(feature: FeatureConfig) -> bool:
    """Whether any version's answer can carry text the model wrote (no schema, or a free string in it).

    A label from an ``enum``, numbers and booleans are not free text; a Python step's output is unknown,
    so it counts as free text.
    """
    for spec in feature.versions.values():
        last = spec.normalized_steps()[-1]
        schema = last.output_schema or last.params.json_schema
        if last.python is not None or schema is None or _free_string(schema):
            return True
    return False


def _free_string(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return schema is not False  # `true` accepts anything, text included
    if "enum" in schema or "const" in schema:
        return False
    if "$ref" in schema:
        return True  # not resolved here: assume the worst
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "string" in kinds:
        return True
    parts = [s for key in ("anyOf", "oneOf", "allOf", "prefixItems") for s in schema.get(key) or []]
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties")
        # Declared properties are what the model fills in; an object with none may hold anything.
        parts += list(properties.values()) if properties else [schema.get("additionalProperties", True)]
    if "array" in kinds or "items" in schema:
        parts.append(schema.get("items", True))
    if not kinds and not parts:
        return True  # no type at all: any value, text included
    return any(_free_string(part) for part in parts)
