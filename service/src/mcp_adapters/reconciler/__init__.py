"""The reconciler: converges each adapter's deployment to its spec, level-triggered and idempotent."""

from mcp_adapters.reconciler.loop import Reconciler

__all__ = ["Reconciler"]
