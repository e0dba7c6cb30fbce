"""Tasks's commands: each owns its transaction."""
