"""Hypothesis strategies for valid adapter specs, shared by the infra and policy property tests."""

from __future__ import annotations

import string

from hypothesis import strategies as st
from mcp_infra.spec import RESERVED_NAMES, RESERVED_PREFIXES, AdapterSpec
from mcp_policies._environment import refused_family

_MIDDLE = string.ascii_lowercase + string.digits + "-"
_END = string.ascii_lowercase + string.digits

adapter_names = st.builds(
    lambda first, middle, last: (first + middle + last)[:63] if middle or last else first,
    st.sampled_from(string.ascii_lowercase),
    st.text(_MIDDLE, max_size=61),
    st.one_of(st.just(""), st.sampled_from(_END)),
).filter(lambda n: not n.endswith("-"))

versions = st.from_regex(r"\A[a-zA-Z0-9][a-zA-Z0-9._-]{0,40}\Z").filter(lambda v: v != "latest")
env_names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,30}\Z").filter(
    # The proxy's own names (in any spelling) are the platform's, not an adapter's; a trusted adapter sets no
    # variable that changes how programs load (the pack's trusted-servers rule refuses those).
    lambda n: (
        n.upper() not in RESERVED_NAMES and not n.upper().startswith(RESERVED_PREFIXES) and refused_family(n) is None
    )
)
env_values = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=64)
secret_names = st.sampled_from(["GITHUB_TOKEN", "API_KEY", "DB_PASSWORD", "CLIENT_SECRET", "AZURE_STORAGE_SAS_TOKEN"])

server_env = st.one_of(
    st.builds(
        lambda cmd, pkg, extra: {"MCP_COMMAND": cmd, "MCP_ARGS": f"-y {pkg} {extra}".strip()},
        st.sampled_from(["npx"]),
        st.sampled_from(["@azure/mcp@latest", "@azure-devops/mcp", "@modelcontextprotocol/server-everything"]),
        st.sampled_from(["", "server start", "contoso"]),
    ),
    st.builds(lambda pkg: {"MCP_COMMAND": "uvx", "MCP_ARGS": pkg}, st.sampled_from(["mcp-server-fetch", "mcp-time"])),
    st.builds(lambda host: {"MCP_PROXY_URL": f"https://{host}/mcp"}, st.sampled_from(["internal-mcp", "a.example"])),
    st.just({}),
)


@st.composite
def adapter_specs(draw: st.DrawFn, name: st.SearchStrategy[str] = adapter_names) -> AdapterSpec:
    env = dict(draw(server_env))  # a copy: st.just({}) hands out the same dict every time
    env |= draw(st.dictionaries(env_names, env_values, max_size=5))
    env |= draw(st.dictionaries(secret_names, env_values, max_size=2))
    return AdapterSpec(
        name=draw(name),
        image_name="mcp-proxy",
        image_version=draw(versions),
        environment_variables=env,
        replica_count=draw(st.integers(1, 10)),
        description=draw(st.text(max_size=80)),
        use_workload_identity=draw(st.booleans()),
        required_roles=draw(st.lists(st.from_regex(r"\A[A-Za-z.]{1,12}\Z"), max_size=3)),
    )
