"""The moderation specialists: one agent per concern, each returning a typed verdict. They
run in parallel (fan-out) inside the moderation workflow, one activity each."""

from __future__ import annotations

from agents import Agent
from pydantic import BaseModel, Field

#: the specialists, in the order their verdicts are reported
SPECIALISTS = ("toxicity", "personal_data", "spam")

_FOCUS = {
    "toxicity": "insults, harassment, hate, threats and violent language",
    "personal_data": "personal data: e-mail addresses, phone numbers, card or account "
    "numbers, home addresses, government ids",
    "spam": "spam: unsolicited advertising, scams, link farms, shouting for clicks",
}

#: the marker the first line of every specialist's instructions carries
SPECIALIST_MARKER = "Specialist:"


class SpecialistVerdict(BaseModel):
    """What a specialist says about one piece of content."""

    risk: float = Field(ge=0.0, le=1.0, description="How likely the content breaks the rules.")
    flagged: bool = Field(description="True when the content should not go out unreviewed.")
    reason: str = Field(description="One sentence a reviewer can act on.")


def instructions(specialist: str) -> str:
    """The specialist's prompt; its first line names it (the offline model reads it)."""
    return (
        f"{SPECIALIST_MARKER} {specialist}\n"
        f"You review user content for {_FOCUS[specialist]}. Judge only that concern. Rate the "
        "risk from 0 (none) to 1 (certain), flag it when it should not be published without "
        "a human's review, and give a one-sentence reason."
    )


def build_specialist(specialist: str, model_name: str) -> Agent[None]:
    """The agent for one specialist; the model comes from the run's provider."""
    if specialist not in _FOCUS:
        raise ValueError(f"unknown specialist {specialist!r}; known: {', '.join(SPECIALISTS)}")
    return Agent[None](
        name=f"moderator-{specialist}",
        instructions=instructions(specialist),
        model=model_name,
        output_type=SpecialistVerdict,
    )
