"""Route modules, one per resource or concern."""
