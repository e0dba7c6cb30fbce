"""The console's tables (none: it reads the other domains' tables)."""
