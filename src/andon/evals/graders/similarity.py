"""The ``similar`` grader: cosine similarity of sentence embeddings between the output and the expected text."""

from __future__ import annotations

import asyncio

from andon.config.graders import SimilarSettings
from andon.config.json_values import split_path
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, said
from andon.evals.graders.values import as_text, expected_value, output_text
from andon.evals.model import Grade

# USE multilingual v3 places Korean paraphrases at about 0.45-0.70 and unrelated sentences below 0.3
# (measured; see tests/test_embeddings.py), so the common 0.8 of larger models would fail most paraphrases.
DEFAULT_THRESHOLD = 0.5


class Similar(SpecGrader[SimilarSettings]):
    """Passes when the cosine reaches ``threshold`` (default 0.5); the score is the cosine clipped to [0, 1].

    A list of expected texts counts the closest one.
    """

    Settings = SimilarSettings

    def __init__(self, spec: SimilarSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None
        self.threshold = DEFAULT_THRESHOLD if spec.threshold is None else spec.threshold

    async def grade(self, ctx: GraderContext) -> Grade:
        """Embed both sides (off the event loop) and compare."""
        expected = expected_value(self.spec.value, ctx.case, self.parts, self.where)
        references = [as_text(x) for x in expected] if isinstance(expected, list) else [as_text(expected)]
        if not references:
            raise GradingError(said("house2.grade.similar_empty"))
        actual = output_text(ctx, self.parts)
        embedder = ctx.services.embedder()
        vectors = await asyncio.to_thread(embedder.embed, [actual, *references])
        # Rows are unit length, so the dot product is the cosine.
        cosines = [float(vectors[0] @ vectors[i]) for i in range(1, len(vectors))]
        best = max(range(len(cosines)), key=cosines.__getitem__)
        cos = max(-1.0, min(1.0, cosines[best]))
        ok = cos >= self.threshold
        reason = said("polish.grade.cosine_ok" if ok else "polish.grade.cosine_low", cosine=f"{cos:.3f}",
                      threshold=f"{self.threshold:g}", model=embedder.name)  # fmt: skip
        return self.verdict(cos, ok, reason, expected=references[best] if len(references) > 1 else references[0])
