"""State-store keys of the app's documents (Dapr prefixes each with the app-id)."""

from __future__ import annotations


def session_key(session_id: str) -> str:
    """A conversation."""
    return f"session-{session_id}"


def review_key(review_id: str) -> str:
    """A review (conversation or moderation)."""
    return f"review-{review_id}"


def moderation_key(moderation_id: str) -> str:
    """A moderation's record, written by its workflow."""
    return f"moderation-{moderation_id}"
