"""Conversations, tools, handoffs and spans (issue 14): multi-turn features run and traced like any other."""

from andon.agents.conversation import TURNS_VARIABLE, conversation_variable, run_turns

__all__ = ["TURNS_VARIABLE", "conversation_variable", "run_turns"]
