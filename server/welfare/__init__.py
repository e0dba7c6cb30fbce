"""Welfare: eligibility rules, subsidy quotas and ledger, applications, statements, fraud signals."""
