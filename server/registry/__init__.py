"""Stations, caregivers, elders and family bindings."""
