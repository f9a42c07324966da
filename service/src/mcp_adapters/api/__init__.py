"""The HTTP API: routes, dependencies, and the one place errors become responses."""
