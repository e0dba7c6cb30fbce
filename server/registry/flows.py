"""The registry's commands: each owns its transaction."""
