"""The hotline's commands, one module per concept; each command owns its transaction.

- ``calls``: the CTI webhook, the screen pop, a call turned into an incident; ``names``: the
  name search over a station's elders
- ``chain``: the escalation chain started, advanced and fired; ``definitions``: its stored
  form, overrides layered over the default; ``overrides``: a station's or an elder's own chain
  set and read; ``responsibility``: people taking it, giving it back, the operator
  escalating or judging it medical
- ``delivery``: an alert through app push, SMS, voice or WeChat with proof;
  ``respond``: the answers (SMS link, IVR digits, the app's "seen")
- ``alarms``: alarms outside the chain reach the operator on duty and the head
- ``care``: the care record for 120; ``devices``: buttons and pendants; ``sweep``: silent
  devices, unseen elders, missed visits → tasks
- ``followup``: return calls, the quarterly sample, satisfaction; ``complaints``
- ``roster``: who is on duty; ``settings``: per-station settings; ``tasks``: the tasks the
  hotline makes, once each; ``common``: scope checks shared by the others
"""
