"""How help arrives and what happens when nobody answers: the phone line (CTI webhook, screen
pop, name search), the one intake path, the escalation chain with outbound channels and proof
of delivery, the care record for 120, devices, welfare checks and the follow-up. See
docs/hotline.md."""
