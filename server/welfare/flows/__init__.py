"""Welfare's commands, one module per concept; each command that answers a request owns its
transaction, the store helpers under them take the caller's (keyword-only).

- ``rulesets``: the district's rule sets, publishing one, the period-close timer
- ``eligibility``: an elder's file as the rules see it, the welfare profile
- ``quota``: quota accounts and their ledger postings (grants, charges, reversals, closes)
- ``visits``: service records with their proof, review, confirmation and corrections
- ``applications``: the three review steps, documents, the overdue timer
- ``calendars``: the working-day calendar as published data
- ``officers``: street and district reviewers and where their authority runs
- ``addresses``: service addresses under the rural programme's limits
- ``statements``: the ledger, statements and fraud signals as they are read

The services domain completes a booking through ``record_service`` and answers with
``record_out``; both stay importable from here.
"""

from __future__ import annotations

from server.welfare.flows.visits import record_service
from server.welfare.out import record as record_out

__all__ = ["record_out", "record_service"]
