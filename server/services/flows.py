"""Services's commands: each owns its transaction."""
