"""The hotline as the server runs it: calls, the escalation chain, delivery, follow-up (the
pure decisions are in ``hotline/``)."""
