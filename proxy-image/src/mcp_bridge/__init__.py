"""mcp-bridge: serves one MCP server to every client over streamable HTTP and SSE."""

__version__ = "0.1.0"
