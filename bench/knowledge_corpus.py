"""The help-centre corpus of bench/knowledge.py: the ``cs-chatbot`` demo's, kept in one place
(:mod:`andon.demo.knowledge_corpus`)."""

from __future__ import annotations

from andon.demo.knowledge_corpus import ARTICLES, CORPUS, documents, questions

__all__ = ["ARTICLES", "CORPUS", "documents", "questions"]
