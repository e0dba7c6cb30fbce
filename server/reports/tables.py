"""The reports' tables (none: a report reads the other domains' rows as they are)."""
