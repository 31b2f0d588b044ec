"""Deploy: which version each feature serves and who decided so.

Promotion gated by the criteria a version was evaluated under, rollback, the live-version history, the
one live-version resolver, the manual cord (stop/resume) and the data-use grant. The gateway, the CLI
and the dashboard call these; none of them decides what is live on its own.
"""

from andon.deploy._common import default_actor, require_feature
from andon.deploy.cord import CordError, CordPull, pull_cord, release_cord, resume_feature, state_events, stop_feature
from andon.deploy.criteria import criteria_record, criteria_sha256, recorded_criteria
from andon.deploy.data_use import set_cases_allowed
from andon.deploy.gate import Judgement, JudgementMemo, Verdict, evaluation_verdict, verdict_metrics
from andon.deploy.live import LiveState, NotLiveError, live_version
from andon.deploy.promotion import PromotionRefused, PromotionResult, history, live_stack, promote, rollback

__all__ = [
    "CordError",
    "CordPull",
    "Judgement",
    "JudgementMemo",
    "LiveState",
    "NotLiveError",
    "PromotionRefused",
    "PromotionResult",
    "Verdict",
    "criteria_record",
    "criteria_sha256",
    "default_actor",
    "evaluation_verdict",
    "history",
    "live_stack",
    "live_version",
    "promote",
    "pull_cord",
    "recorded_criteria",
    "release_cord",
    "require_feature",
    "resume_feature",
    "rollback",
    "set_cases_allowed",
    "state_events",
    "stop_feature",
    "verdict_metrics",
]
