"""Journeys: a trigger enrols contacts, who then walk an ordered list of steps (send, wait,
branch, tag, assign, webhook, exit) until they finish, leave, or reach the journey's goal."""
