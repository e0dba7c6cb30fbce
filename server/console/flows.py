"""The console's commands: each owns its transaction."""
