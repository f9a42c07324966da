"""The data plane through the control plane: `/adapters/{name}/mcp` streamed to the adapter's replicas."""
