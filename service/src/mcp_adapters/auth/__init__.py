"""Who is calling (development headers or Entra ID tokens) and what they may do."""

from mcp_adapters.auth.identity import Authenticator, Identity

__all__ = ["Authenticator", "Identity"]
