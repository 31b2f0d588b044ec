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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import logging
import re
import threading
import time
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, TemplateSyntaxError, meta
from numpy.typing import NDArray

from andon.config.schema import CacheConfig, FeatureConfig, Params, Step, WorkspaceConfig
from andon.embeddings import Embedder, default_embedder
from andon.errors import ConfigError
from andon.gateway.polarity import head, negated_head, polar
from andon.gateway.redact import StoragePolicy
from andon.gateway.types import CachedAnswer
from andon.store.semcache import CacheEntry, CacheIndexRow, NewCacheEntry
from andon.versions.canonical import Version, canonical_json

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
MAX_INDEX_ROWS = 200_000  # per (feature, version, tenant) in memory; older rows then serve exact hits only
_EMBED_MEMO = 1024  # recent embeddings kept, so the store() after a missed lookup does not embed again
_IMAGE_PREFIXES = ("data:", "http://", "https://")

Judge = Callable[[str, str], Awaitable[bool]]
"""``async judge(request_text, cached_text) -> bool``: True confirms that one answer serves both requests."""

Vector = NDArray[np.float32]
_log = logging.getLogger(__name__)


# --- the cache key ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestKey:
    """A request as the cache sees it: exact hash, stored text, the free text to embed, and its scope."""

    key_hash: str  # sha256 of the canonical cache-key variables
    text: str  # canonical JSON of those variables, images replaced by their sha256 (kept in the store)
    free_text: str  # the text variables, embedded for the semantic match ("" = exact only)
    scope: str  # sha256 of everything else (images, numbers, flags): must be equal for a semantic hit


def request_key(
    variables: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    image_names: frozenset[str] = frozenset(),
    reads: frozenset[str] | None = None,
) -> RequestKey:
    """The cache key of ``variables`` (images by content hash).

    Without ``fields`` every variable is in the key and the text ones are embedded. With ``fields`` only
    those are embedded; every other variable the versions read (``reads``; None = any, as for a Python
    step) must match exactly: a rating outside ``fields`` still separates two reviews' replies.
    """
    if fields:
        extra = set(variables) if reads is None else set(variables) & reads
        names = list(dict.fromkeys([*fields, *sorted(extra - set(fields))]))
    else:
        names = sorted(variables)
    kept = {name: _keyable(variables.get(name), name in image_names) for name in names}
    return key_from_text(canonical_json(kept), image_names, fields)


def scoped_key_hash(feature: str, version_id: str, tenant: str, key: RequestKey, api_key_id: str = "") -> str:
    """The stored exact key: sha256 of the scope and the variables, so one indexed column finds an entry."""
    return _sha256(canonical_json([feature, version_id, tenant, api_key_id, key.key_hash]))


def key_from_text(
    text: str, image_names: frozenset[str] = frozenset(), fields: Sequence[str] | None = None
) -> RequestKey:
    """Rebuild a :class:`RequestKey` from its stored text (how the index reads rows back)."""
    kept: dict[str, Any] = json.loads(text)
    free = {
        name: value
        for name, value in kept.items()
        if isinstance(value, str)
        and name not in image_names
        and not value.startswith(_IMAGE_PREFIXES)
        and (not fields or name in fields)
    }
    rest = {name: value for name, value in kept.items() if name not in free}
    if len(free) == 1:
        free_text = next(iter(free.values()))
    else:  # several text fields: each keeps its name, so swapping two fields' values changes the text
        free_text = "\n".join(f"{name}: {value}" for name, value in sorted(free.items()))
    return RequestKey(
        key_hash=_sha256(text), text=text, free_text=free_text.strip(), scope=_sha256(canonical_json(rest))
    )


def _keyable(value: Any, is_image: bool) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if is_image and isinstance(value, str):
        return {"sha256": _sha256(value)}
    try:
        canonical_json(value)
    except (TypeError, ValueError):
        return {"repr_sha256": _sha256(repr(value))}
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the guard ----------------------------------------------------------------------------------------
# A light Korean/English analysis (no dictionary). Against kiwipiepy's morphological analysis doing the same
# checks (`python -m bench.semantic_cache --kiwi`, with kiwipiepy installed) it gave the same KorSTS precision
# and recall within a point, at about a tenth of the time, without a 105 MB model to ship.

_HANGUL = "\uac00-\ud7a3"
_RUNS = re.compile(rf"\d+(?:[.,]\d+)*|[{_HANGUL}]+|[^\W\d_{_HANGUL}]+")
# Case particles that say who does what to whom: S subject/topic, O object, D recipient, F source, T goal.
_ROLE_PARTICLES = {
    "께서": "S", "이": "S", "가": "S", "은": "S", "는": "S",
    "을": "O", "를": "O",
    "에게": "D", "한테": "D", "께": "D", "에게로": "D",
    "에서": "F", "에게서": "F", "한테서": "F", "부터": "F", "로부터": "F", "으로부터": "F", "에서부터": "F",
    "으로": "T", "로": "T", "까지": "T",
}  # fmt: skip
_OTHER_PARTICLES = (
    "의", "와", "과", "도", "만", "에", "랑", "이랑", "처럼", "보다", "마다", "조차", "에는", "에서는",
    "에게는", "으로는", "로는", "와는", "과는", "이나", "나",
)  # fmt: skip
_PARTICLES = sorted((*_ROLE_PARTICLES, *_OTHER_PARTICLES), key=len, reverse=True)
_NUMBER_WORDS = {
    "하나": "1", "둘": "2", "두": "2", "셋": "3", "세": "3", "넷": "4", "네": "4", "다섯": "5", "여섯": "6",
    "일곱": "7", "여덟": "8", "아홉": "9", "열": "10", "스물": "20", "스무": "20",
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "hundred": "100", "thousand": "1000",
}  # fmt: skip
_STOPWORDS = frozenset(
    {"한", "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "please"}
)
_NEGATION_WORDS = frozenset(
    {"안", "못", "not", "no", "never", "cannot", "without", "nothing", "nobody", "none", "neither", "nor"}
)
_NEGATION_INSIDE = ("않", "없", "아니", "아닌", "지마", "지말")
_PROHIBITIVE = ("마세요", "마십시오", "마라", "마요", "말고", "말아", "말라")
# 안 written against its verb ("안왔어요", "안시킬게요"); a bare 안 prefix would also catch 안내, 안전, 안녕.
_GLUED_AN = (
    "안돼", "안되", "안됐", "안됨", "안될", "안와", "안왔", "안오", "안옴", "안해", "안했", "안하", "안할", "안함",
    "안먹", "안갔", "안가요", "안받", "안들", "안맞", "안시", "안좋", "안팔", "안사", "안써", "안쓰", "안열", "안켜",
    "안꺼", "안움", "안나와", "안나요", "안보여", "안보이",
)  # fmt: skip
# A word is negated by 안/못 before it, by 않다/못하다/아니다 right after it ("좋지 않아요"), or by not/never
# (or n't) among the three English words before it.
_NEGATED_BY_NEXT = ("않", "못하", "못해", "못했", "못합", "아니", "아닌")
_ENGLISH_SCOPE = 3


@dataclass(frozen=True, slots=True)
class RequestShape:
    """What the guard compares: content tokens in order with their case roles, numbers, negations, polarity.

    ``polarity`` holds the (axis, side) of each opposite-bearing word (:mod:`andon.gateway.polarity`),
    ``valence`` the sum of their sentiments; ``heads`` and ``negated_heads`` let 불친절/친절 and
    unsubscribe/subscribe be told apart without a list.
    """

    tokens: tuple[tuple[str, str | None], ...]
    numbers: tuple[str, ...]
    negations: int
    polarity: frozenset[tuple[str, str]] = frozenset()
    valence: int = 0
    heads: frozenset[str] = frozenset()
    negated_heads: frozenset[str] = frozenset()


def request_shape(text: str) -> RequestShape:
    """Analyse one request for :func:`mismatch` (Korean particles stripped into roles, numbers normalised)."""
    words = unicodedata.normalize("NFKC", text).lower().split()
    tokens: list[tuple[str, str | None]] = []
    numbers: list[str] = []
    negations = valence = 0
    polarity: set[tuple[str, str]] = set()
    heads: set[str] = set()
    negated_heads: set[str] = set()
    for position, word in enumerate(words):
        if _negates(word, words[position - 1] if position else ""):
            negations += 1
        runs = _RUNS.findall(word)
        in_scope = None  # whether a negation covers this word, worked out only for words on an axis
        for index, run in enumerate(runs):
            if not run[0].isdigit():
                place = polar(run)
                if place is not None:
                    in_scope = _in_negation_scope(words, position) if in_scope is None else in_scope
                    place = place.flipped() if in_scope else place
                    polarity.add((place.axis, place.side))
                    valence += place.valence
                heads.add(head(run))
                negated = negated_head(run)
                if negated is not None:
                    negated_heads.add(negated)
            if run[0].isdigit():
                numbers.append(run.replace(",", ""))
                tokens.append((run, None))
            elif run in _NUMBER_WORDS:
                numbers.append(_NUMBER_WORDS[run])
            elif _is_hangul(run[0]) and index > 0 and run in _ROLE_PARTICLES and tokens:
                # A particle glued to a Latin or digit stem ("A가"): it gives that stem its role.
                tokens[-1] = (tokens[-1][0], _ROLE_PARTICLES[run])
            elif _is_hangul(run[0]):
                stem, role = _strip_particle(run)
                if stem not in _STOPWORDS or role is not None:
                    tokens.append((stem, role))
            else:
                particle_follows = index + 1 < len(runs) and runs[index + 1] in _ROLE_PARTICLES
                if run not in _STOPWORDS or particle_follows:  # "a" is an article, "A가" a person
                    tokens.append((run, None))
    return RequestShape(
        tuple(tokens),
        tuple(sorted(numbers)),
        negations,
        frozenset(polarity),
        valence,
        frozenset(heads),
        frozenset(negated_heads),
    )


def mismatch(a: RequestShape, b: RequestShape) -> str | None:
    """Why one cached answer cannot serve both requests (numbers, negation, opposites, sentiment, roles, order)."""
    if a.numbers != b.numbers:
        return "numbers"
    # Counted, not paired: "맛없어요 … 안 시킬게요" has two negations, and they do not cancel out.
    if a.negations != b.negations:
        return "negation"
    if _opposed(a, b):
        return "antonym"
    if a.valence * b.valence < 0:
        return "polarity"
    count_a = Counter(stem for stem, _ in a.tokens)
    count_b = Counter(stem for stem, _ in b.tokens)
    shared = {stem for stem, n in count_a.items() if n == 1 and count_b.get(stem) == 1}
    role_a = {stem: role for stem, role in a.tokens if stem in shared}
    role_b = {stem: role for stem, role in b.tokens if stem in shared}
    if any(role_a[s] and role_b[s] and role_a[s] != role_b[s] for s in shared):
        return "roles"
    # Korean marks roles with particles and may reorder freely; other scripts mark them by word order.
    ordered = {s for s in shared if not (role_a[s] and role_b[s]) and not _is_hangul(s[0])}
    if [s for s, _ in a.tokens if s in ordered] != [s for s, _ in b.tokens if s in ordered]:
        return "order"
    return None


def _opposed(a: RequestShape, b: RequestShape) -> bool:
    """Whether the two take different sides of one axis, or one negates by prefix a word the other has."""
    sides_a: dict[str, set[str]] = {}
    sides_b: dict[str, set[str]] = {}
    for axis, side in a.polarity:
        sides_a.setdefault(axis, set()).add(side)
    for axis, side in b.polarity:
        sides_b.setdefault(axis, set()).add(side)
    if any(sides_b[axis] != sides for axis, sides in sides_a.items() if axis in sides_b):
        return True
    one_way = (a.negated_heads & b.heads) - a.heads - b.negated_heads
    return bool(one_way or (b.negated_heads & a.heads) - b.heads - a.negated_heads)


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


def _strip_particle(run: str) -> tuple[str, str | None]:
    for particle in _PARTICLES:
        if len(run) > len(particle) and run.endswith(particle):
            return run[: -len(particle)], _ROLE_PARTICLES.get(particle)
    return run, None


def _negates(word: str, previous: str) -> bool:
    bare = word.strip(".,!?~…\"'()[]")
    if bare in _NEGATION_WORDS or bare.endswith(("n't", "n’t")):
        return True
    if not bare or not _is_hangul(bare[0]):
        return False
    if bare.startswith(("못", *_GLUED_AN)) or any(part in bare for part in _NEGATION_INSIDE):
        return True
    return previous.endswith("지") and bare.startswith(_PROHIBITIVE)  # "하지 마세요"


def _in_negation_scope(words: Sequence[str], position: int) -> bool:
    word = words[position]
    if position and words[position - 1].strip(".,!?~…\"'()[]") in ("안", "못"):
        return True
    if word.startswith(_GLUED_AN) or any(glued in word for glued in ("지않", "지못", "지도않", "지는않")):
        return True
    if position + 1 < len(words) and words[position + 1].startswith(_NEGATED_BY_NEXT):
        return True
    before = [w.strip(".,!?~…\"'()[]") for w in words[max(0, position - _ENGLISH_SCOPE) : position]]
    return any(w in _NEGATION_WORDS or w.endswith(("n't", "n’t")) for w in before if w and not _is_hangul(w[0]))


# --- the in-memory index ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry above the threshold: its row id, cosine, and request text."""

    id: int
    similarity: float
    free_text: str


class _Index:
    """Unit vectors of one (feature, version, tenant) in a growing numpy matrix, searched by one mat-vec."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.lock = threading.Lock()
        self.size = 0
        self.vectors: Vector = np.zeros((0, dim), dtype=np.float32)
        self.ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.created: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.expires: NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.scopes: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.texts: list[str] = []
        self.scope_codes: dict[str, int] = {}
        self.max_id = 0
        self.refreshed = -float("inf")  # clock time of the last read from the store

    def add(self, rows: Sequence[tuple[int, Vector, float, float, str, str]], now: float) -> None:
        """Append (id, vector, created, expires, free text, scope) rows, dropping the oldest past the cap."""
        rows = [r for r in rows if r[0] > self.max_id and r[1].shape == (self.dim,)]
        if not rows:
            return
        with self.lock:
            needed = self.size + len(rows)
            if needed > MAX_INDEX_ROWS:
                self._drop_oldest(needed - MAX_INDEX_ROWS, now)
            self._reserve(self.size + len(rows))
            start, stop = self.size, self.size + len(rows)
            self.vectors[start:stop] = np.stack([r[1] for r in rows])
            self.ids[start:stop] = [r[0] for r in rows]
            self.created[start:stop] = [r[2] for r in rows]
            self.expires[start:stop] = [r[3] for r in rows]
            self.scopes[start:stop] = [self.scope_codes.setdefault(r[5], len(self.scope_codes)) for r in rows]
            self.texts.extend(r[4] for r in rows)
            self.size = stop
            self.max_id = max(self.max_id, rows[-1][0])

    def search(self, query: Vector, threshold: float, now: float, ttl_s: float, scope: str, k: int) -> list[Candidate]:
        """The best ``k`` live entries of ``scope`` with cosine >= ``threshold``, best first."""
        with self.lock:  # a consistent snapshot; the arrays are only replaced, never shrunk in place
            size, vectors, ids, texts = self.size, self.vectors, self.ids, self.texts
            created, expires, scopes = self.created, self.expires, self.scopes
            code = self.scope_codes.get(scope)
        if code is None or size == 0:
            return []
        with _one_blas_thread():
            sims = vectors[:size] @ query
        above = np.flatnonzero(sims >= threshold)
        if above.size == 0:
            return []
        live = (scopes[above] == code) & (expires[above] > now) & (created[above] + ttl_s > now)
        above = above[live]
        best = above[np.argsort(-sims[above], kind="stable")[:k]]
        return [Candidate(int(ids[i]), float(sims[i]), texts[i]) for i in best]

    def forget_expired(self, now: float) -> None:
        """Drop rows whose time has passed (pruning keeps memory in step with the store)."""
        with self.lock:
            keep = np.flatnonzero(self.expires[: self.size] > now)
            if keep.size < self.size:
                self._keep(keep)

    def _drop_oldest(self, count: int, now: float) -> None:
        keep = np.flatnonzero(self.expires[: self.size] > now)
        if keep.size > self.size - count:
            keep = keep[keep.size - (self.size - count) :]
        self._keep(keep)

    def _keep(self, keep: NDArray[np.intp]) -> None:
        # New arrays rather than in-place compaction: a search holding the old snapshot stays correct.
        self.vectors = self.vectors[keep].copy()
        self.ids, self.created = self.ids[keep].copy(), self.created[keep].copy()
        self.expires, self.scopes = self.expires[keep].copy(), self.scopes[keep].copy()
        self.texts = [self.texts[i] for i in keep]
        self.size = int(keep.size)

    def _reserve(self, needed: int) -> None:
        if needed <= self.vectors.shape[0]:
            return
        capacity = max(needed, 2 * self.vectors.shape[0], 64)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: self.size] = self.vectors[: self.size]
        self.vectors = vectors
        self.ids = _grown(self.ids, capacity, self.size)
        self.created = _grown(self.created, capacity, self.size)
        self.expires = _grown(self.expires, capacity, self.size)
        self.scopes = _grown(self.scopes, capacity, self.size)


def _grown(array: NDArray[Any], capacity: int, size: int) -> NDArray[Any]:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:size] = array[:size]
    return grown


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    # Measured: one BLAS thread runs this memory-bound mat-vec faster than two on a 2-core machine.
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # pragma: no cover - the embedder's own dependency brings it
        yield
        return
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield


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
    ) -> None:
        self._store = store
        self._clock = clock  # seconds since the epoch: TTLs, refreshes and flushes all read this one clock
        self._config = config
        self._embedder = embedder
        self._judge = judge
        self._settings: dict[str, CacheSettings | None] = {}
        self._indexes: dict[tuple[str, str, str, str], _Index] = {}
        self._loading: dict[tuple[str, str, str, str], asyncio.Lock] = {}
        self._memo: OrderedDict[str, Vector] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._last_prune = clock()
        self._hits: Counter[int] = Counter()
        self._last_hits_flush = clock()
        self.stats: Counter[str] = Counter()
        """Counts: exact_hit, semantic_hit, miss, guard_veto, judge_veto, judge_missing, stored, skipped,
        skipped_personal (an answer the feature's data_use would redact), error."""

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
            reads=_variables_read(steps),
            shared=cache.share_across_keys,
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
        candidates = await asyncio.to_thread(
            index.search, query, settings.threshold, self._clock(), settings.ttl_s, key.scope, MAX_CANDIDATES
        )
        shape = request_shape(key.free_text) if candidates else None
        judged = 0
        for candidate in candidates:
            assert shape is not None
            if mismatch(shape, request_shape(candidate.free_text)) is not None:
                self.stats["guard_veto"] += 1
                continue
            if judge is not None:
                if judged >= MAX_JUDGED:
                    break
                judged += 1
                if not await _confirmed(judge, key.free_text, candidate.free_text):
                    self.stats["judge_veto"] += 1
                    continue
            now, not_before = self._window(settings)
            entry = await asyncio.to_thread(
                partial(self._store.semcache_get, now=now, not_before=not_before), candidate.id
            )
            if entry is not None and _is_answer(entry):
                self._hits[entry.id] += 1
                return CachedAnswer(
                    "semantic", entry.output_text, entry.output_json, candidate.similarity, entry.trace_id
                )
        return None

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

    async def _index(self, feature: str, version_id: str, tenant: str, owner: str, dim: int) -> _Index:
        scope = (feature, version_id, tenant, owner)
        index = self._indexes.get(scope)
        if index is not None and self._clock() - index.refreshed < REFRESH_S:
            return index
        lock = self._loading.setdefault(scope, asyncio.Lock())
        async with lock:  # one reader per scope: concurrent first lookups share one load
            index = self._indexes.get(scope)
            if index is None or self._clock() - index.refreshed >= REFRESH_S:
                index = index or _Index(dim)
                rows = await asyncio.to_thread(
                    partial(
                        self._store.semcache_index_rows,
                        api_key_id=owner,
                        after_id=index.max_id,
                        now=datetime.fromtimestamp(self._clock(), UTC),
                    ),
                    feature,
                    version_id,
                    tenant,
                )
                settings = self.settings(feature)
                images = settings.image_names if settings else frozenset()
                fields = settings.fields if settings else None
                await asyncio.to_thread(index.add, [_index_row(row, images, fields) for row in rows], self._clock())
                index.refreshed = self._clock()
                self._indexes[scope] = index
        return index

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


async def _confirmed(judge: Judge, request_text: str, cached_text: str) -> bool:
    try:
        return bool(await judge(request_text, cached_text))
    except Exception:  # a judge that cannot answer has not confirmed: no hit
        _log.warning("cache judge failed; the semantic hit is refused", exc_info=True)
        return False


def _is_answer(entry: CacheEntry) -> bool:
    return entry.output_text is not None or entry.output_json is not None


def _index_row(
    row: CacheIndexRow, images: frozenset[str], fields: Sequence[str] | None
) -> tuple[int, Vector, float, float, str, str]:
    key = key_from_text(row.text, images, fields)
    vector = np.frombuffer(row.embedding, dtype=np.float32)
    return row.id, vector, row.created_at.timestamp(), row.expires_at.timestamp(), key.free_text, key.scope


# --- what a feature's versions read and write ----------------------------------------------------------


def _variables_read(steps: Sequence[Step]) -> frozenset[str] | None:
    """Every variable the steps' templates and images name; None when a step may read any (Python)."""
    names: set[str] = set()
    environment = Environment()
    for step in steps:
        if step.python is not None:
            return None
        names.update(step.images)
        for source in (step.system, step.prompt):
            if source is None:
                continue
            try:
                names.update(meta.find_undeclared_variables(environment.parse(source)))
            except TemplateSyntaxError:  # rendering will report it; here, assume it may read anything
                return None
    return frozenset(names)


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


# --- judges -------------------------------------------------------------------------------------------

JUDGE_FEATURE = "cache-judge"
JUDGE_SYSTEM = (
    "You guard an answer cache. Two user requests are the same only if one answer serves both exactly: "
    "the same people or things in the same roles (who does what to whom), the same numbers, dates, places "
    "and directions, and the same negation. Korean and English requests are judged alike. "
    'Reply with JSON only: {"same": true} or {"same": false}.'
)
JUDGE_PROMPT = "Request A:\n{{ request }}\n\nRequest B:\n{{ cached }}"
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"same": {"type": "boolean"}},
    "required": ["same"],
    "additionalProperties": False,
}
_YES = ("yes", "true", "same", "예", "네", "같")
_NO = ("no", "false", "different", "아니", "다르", "다름")


def workspace_judge(ws: Workspace, ref: str) -> Judge:
    """A judge from ``cache.judge``: a provider name (built-in prompt) or ``FEATURE:VERSION`` (your own).

    A ``FEATURE:VERSION`` judge receives the variables ``request`` and ``cached`` and answers yes/no text,
    ``true``/``false`` or ``{"same": bool}``. Every judge call is stored as an output, with its provenance.
    """
    version = _judge_version(ws, ref)

    async def judge(request_text: str, cached_text: str) -> bool:
        from andon.engine.pipeline import run_version

        outcome = await run_version(version, {"request": request_text, "cached": cached_text}, ws, base_dir=ws.root)
        record = outcome.to_record(context={"purpose": "cache-judge", "judge": ref})
        await asyncio.to_thread(ws.store.save_output, record)
        return judge_verdict(outcome)

    return judge


def judges_for(ws: Workspace) -> dict[str, Judge]:
    """One judge per feature whose ``serve.cache.judge`` is set (built now, so a bad name fails at start)."""
    built: dict[str, Judge] = {}
    by_ref: dict[str, Judge] = {}
    for feature, spec in ws.config.features.items():
        ref = spec.serve.cache.judge
        if ref is None or not spec.serve.cache.enabled:
            continue
        if ref not in by_ref:
            by_ref[ref] = workspace_judge(ws, ref)
        built[feature] = by_ref[ref]
    return built


def judge_verdict(outcome: Outcome) -> bool:
    """True only when the judge clearly said "same"; errors and unclear answers count as "different"."""
    if outcome.status != "ok":
        return False
    parsed = outcome.output_json
    if isinstance(parsed, bool):
        return parsed
    if isinstance(parsed, dict):
        for name in ("same", "match", "equivalent", "answer"):
            if isinstance(parsed.get(name), bool):
                return bool(parsed[name])
    text = (outcome.output_text or "").strip().strip("\"'`.").lower()
    if text.startswith(_NO):
        return False
    return text.startswith(_YES)


def _judge_version(ws: Workspace, ref: str) -> Version:
    where = "serve.cache.judge"
    if ":" in ref:
        feature, _, name = ref.partition(":")
        if not feature or not name:
            raise ConfigError(f"judge {ref!r} is not FEATURE:VERSION", where=where, hint="e.g. cache-check:v1")
        return ws.version(feature, name)
    if ref not in ws.config.providers:
        known = ", ".join(ws.config.providers) or "none"
        raise ConfigError(
            f"judge {ref!r} names no provider and is not FEATURE:VERSION",
            where=where,
            hint=f"use a provider under `providers:` ({known}) or FEATURE:VERSION",
        )
    step = Step(
        provider=ref,
        system=JUDGE_SYSTEM,
        prompt=JUDGE_PROMPT,
        params=Params(temperature=0, max_tokens=16, json_schema=JUDGE_SCHEMA),
    )
    return ws.one_step_version(JUDGE_FEATURE, ref, step)
