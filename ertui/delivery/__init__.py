"""Delivery: the worker that drains the queue over every enabled MTA, and what it needs."""
