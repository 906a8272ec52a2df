"""Content moderation: specialist agents in parallel, an aggregate risk, a human for risky
content (with a deadline), then the outcome recorded and published — a durable workflow on
whichever engine the stage has."""
