"""Tasks: what caregivers work on and what the planner plans."""
