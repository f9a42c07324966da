"""The names the tests and the plugin process share."""

from __future__ import annotations

CLOUD_ENV = "MCP_TEST_AZURE_CLOUD"  # the cloud directory; required
HOLD_CREATE_ENV = "MCP_TEST_AZURE_HOLD_CREATE"  # a type token: its Create waits for a release file
PLUGIN_EXECUTABLE = "pulumi-resource-azure-native"
VERSION = "3.29.0"  # pulumi-azure-native in uv.lock: the version the Python SDK asks for
