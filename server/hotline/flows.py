"""The hotline's commands: each owns its transaction."""
