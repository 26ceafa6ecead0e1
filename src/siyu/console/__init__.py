"""The web console: server-rendered pages (Jinja2 + HTMX) in Simplified Chinese and English."""
