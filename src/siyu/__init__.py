"""Siyu (私域): the merchant's own customer pool."""

__version__ = "0.1.0"
