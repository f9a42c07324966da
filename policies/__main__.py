"""The CrossGuard pack entry point: `pulumi preview --policy-pack policies`."""

from mcp_policies.crossguard import serve

serve()
