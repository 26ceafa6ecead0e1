"""Reach: channels, templates, campaigns, journeys, consent rules and frequency caps."""
