"""Entry point of the root Pulumi project (`main: infra/program` in Pulumi.yaml)."""

from mcp_infra.platform.program import main

main()
