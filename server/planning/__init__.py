"""Day plans, emergency insertion and meal routes: the dispatcher's decisions, stored and pushed."""
