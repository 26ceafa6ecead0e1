"""Grow the pool through its customers: coupons (referrals, tasks and group-buy build on them)."""
