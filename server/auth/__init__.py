"""Sign-in, tokens, roles and the guards that keep every object in its tenant."""
