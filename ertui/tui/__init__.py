"""The Textual console. Only this package imports Textual; it calls the core for every rule."""
