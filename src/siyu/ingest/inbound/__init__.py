"""Inbound marketing on the merchant's own site: forms, landing pages and channel QR codes."""
