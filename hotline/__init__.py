"""The hotline's pure decisions, no I/O and nothing of ``server/``: CTI and device event
parsing, name matching (pinyin), the escalation plan over an incident's history, the channel
protocols and fallback policy, the care record for 120, the duty roster and follow-up
sampling. The store-bound hotline is ``server/hotline/``; see docs/hotline.md."""
