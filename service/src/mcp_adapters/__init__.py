"""The mcp-adapters control plane."""
