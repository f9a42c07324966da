from __future__ import annotations

import re

import pytest
from mcp_infra.names import LABEL_LIMIT, STATEFULSET_LIMIT, AdapterNames, fit

LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def test_short_names_are_kept_readable() -> None:
    names = AdapterNames.of("ado-remote")
    assert (names.statefulset, names.service, names.headless_service) == (
        "ado-remote",
        "ado-remote-svc",
        "ado-remote-peers",
    )
    assert (names.service_account, names.secret, names.identity) == (
        "ado-remote-sa",
        "ado-remote-env",
        "id-mcp-ado-remote",
    )


def test_a_63_character_name_still_gives_valid_names_for_every_object() -> None:
    name = "a" + "b" * 61 + "c"
    names = AdapterNames.of(name)
    assert len(names.statefulset) == STATEFULSET_LIMIT
    for value in (names.statefulset, names.service, names.headless_service, names.service_account, names.secret):
        assert LABEL.match(value), value
        assert len(value) <= LABEL_LIMIT, value
    # the pods of the StatefulSet (name-<ordinal>) stay valid hostnames up to 99 replicas... and beyond
    assert len(f"{names.statefulset}-999") <= LABEL_LIMIT


def test_cut_names_never_equal_whole_names_of_other_adapters() -> None:
    long = "x" * 60
    cut = fit(long, "-peers")
    assert len(cut) == LABEL_LIMIT
    # the adapter whose whole name would produce the same text cannot exist: it would be cut as well
    impostor = cut.removesuffix("-peers")
    assert fit(impostor, "-peers") != cut


@pytest.mark.parametrize(
    ("a", "b"),
    [("x", "x-peers"), ("x", "x-svc"), ("x-sa", "x"), ("x-env", "x"), ("default", "default-sa")],
)
def test_adapters_whose_names_extend_each_other_get_distinct_objects(a: str, b: str) -> None:
    first, second = AdapterNames.of(a), AdapterNames.of(b)
    services = {first.service, first.headless_service, second.service, second.headless_service}
    assert len(services) == 4
    assert first.service_account != second.service_account
    assert first.secret != second.secret


def test_no_adapter_service_account_is_the_namespace_default() -> None:
    assert AdapterNames.of("default").service_account != "default"
