"""The services domain's commands, one module per concept: the menu, bookings and their
completion, meals, recurring rules. Each command that owns its transaction takes the
platform; the helpers other flows call inside theirs take the transaction."""
