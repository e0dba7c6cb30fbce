"""Anxin tests. The suite signs in thousands of times: use a cheap argon2id profile."""

import os

os.environ.setdefault("ANXIN_FAST_PASSWORD_HASH", "1")
