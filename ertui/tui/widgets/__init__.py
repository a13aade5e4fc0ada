"""Widgets the screens are made of, and the formatting of their cells."""
