"""Kept for the domains that import the registry's serialisers from here: see ``out``."""

from __future__ import annotations

from server.registry.out import age_on as age_on
from server.registry.out import caregiver_out as caregiver_out
from server.registry.out import dicts_of as dicts_of
from server.registry.out import elder_out as elder_out
from server.registry.out import skills_of as skills_of
from server.registry.out import station_out as station_out
