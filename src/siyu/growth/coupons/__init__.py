"""Coupons: definitions, codes issued to contacts, redemptions from orders or the API."""
