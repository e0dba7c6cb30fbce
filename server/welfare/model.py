"""Welfare's statuses and their transition tables (filled in as the domain moves to its shape)."""
