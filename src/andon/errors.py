"""One error hierarchy: everything a user can cause is an ``AndonError`` with a fix-it hint.

The whole tree, with the module of each class defined elsewhere (a test keeps this list complete). The CLI
prints any of them as one message without a traceback; ``andon`` exports the ones a Python user catches.

    AndonError
    ├── ConfigError
    │   ├── InvalidConfig                  andon.config.problems
    │   └── InvalidDecisionError           andon.review.decisions
    ├── PeriodClosedError
    ├── WorkspaceError
    ├── NotFoundError
    ├── StoreError
    │   └── TraceWriteError                andon.gateway.tracing
    ├── ProviderError
    │   ├── ProviderTimeout
    │   ├── MalformedReply
    │   └── CircuitOpenError               andon.gateway.circuit
    ├── ModelIntegrityError
    ├── TemplateError
    ├── StatisticsError                    andon.evals.stats
    ├── ReportFormatError                  andon.evals.report.export
    ├── ExportError                        andon.okr.export
    ├── AlreadyDecidedError                andon.review.queue
    ├── ClaimedError                       andon.review.claims
    ├── CasesNotAllowedError               andon.review.export
    ├── DatasetWriteError                  andon.review.casefile
    ├── NotLiveError                       andon.deploy.live
    ├── PromotionRefused                   andon.deploy.promotion
    ├── CordError                          andon.deploy.cord
    ├── RolloutError                       andon.deploy.rollout
    ├── ExperimentError                    andon.deploy.experiment
    ├── DetectorStateError                 andon.watch.detectors.base
    ├── IncidentError                      andon.watch.incidents
    ├── NotifyError                        andon.watch.notify.base
    ├── SourceError                        andon.watch.sources
    ├── BindingError                       andon.okr.bindings.base
    ├── UnsafeURLError                     andon.gateway.fetch
    ├── FetchError                         andon.gateway.fetch
    ├── WorkImportError                    andon.okr.work.base
    ├── SignInError                        andon.web.users
    ├── ToolLimitReached                   andon.engine.tools
    ├── McpServerError                     andon.engine.mcp_tools
    ├── ToolApprovalNeeded                 andon.engine.tools
    ├── OtlpError                          andon.agents.otlp
    ├── ExecutorError                      andon.evals.executors.base
    └── APIError                           andon.client (the gateway answered with an error)
        ├── InvalidRequestError            andon.client
        ├── AuthenticationError            andon.client
        ├── PermissionDeniedError          andon.client
        ├── ResourceNotFoundError          andon.client
        ├── ConflictError                  andon.client
        ├── RateLimitError                 andon.client
        ├── ProviderUnavailableError       andon.client
        ├── ServerError                    andon.client
        └── APIConnectionError             andon.client
"""

from __future__ import annotations


class AndonError(Exception):
    """An error the user can fix; the CLI prints it without a traceback.

    ``where`` names the file, line, column or field; ``hint`` says how to fix it.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(AndonError):
    """andon.yaml (or another user file) is missing, malformed or invalid."""


class PeriodClosedError(AndonError):
    """A write to an objective, key result or check-in of a closed OKR period, whose values are frozen."""


class WorkspaceError(AndonError):
    """No workspace here, or it cannot be created."""


class NotFoundError(AndonError):
    """A named feature, version, output or run does not exist."""


class StoreError(AndonError):
    """The store cannot be opened or migrated."""


class ProviderError(AndonError):
    """A provider call failed; ``retryable`` says whether trying again may help."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        raw: str | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, where=where or (f"provider {provider!r}" if provider else None), hint=hint)
        self.provider = provider
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.raw = raw


class ProviderTimeout(ProviderError):
    """The provider did not answer within the configured timeout."""


class MalformedReply(ProviderError):
    """The provider answered, but not in the shape asked for; ``raw`` keeps what it said."""


class ModelIntegrityError(AndonError):
    """Model weights are missing or their checksum does not match the official release."""


class TemplateError(AndonError):
    """A prompt template failed to render (syntax, unknown variable, sandbox violation)."""
