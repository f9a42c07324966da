"""The cluster reader against a Kubernetes API on loopback: readiness, what a pod waits on, logs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import anyio
import pytest
from mcp_adapters.targets.base import TargetError
from mcp_adapters.targets.kubernetes._cluster import Cluster

from tests.proxy_image._forward_upstream import serve
from tests.service.targets.kubernetes.fake_cluster import FakeCluster, write_kubeconfig

pytestmark = pytest.mark.anyio
NS = "mcp-adapters"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FakeCluster, Cluster]]:
    fake = FakeCluster()
    async with serve(fake.app) as url:
        cluster = Cluster(write_kubeconfig(tmp_path / "kubeconfig", url, fake.token), None)
        try:
            yield fake, cluster
        finally:
            await cluster.close()


async def test_a_rolled_out_statefulset_is_ready(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 2, ready=2)
    rollout = await cluster.rollout(NS, "github")
    assert (rollout.desired, rollout.ready, rollout.message) == (2, 2, "")
    assert [(p.name, p.ready) for p in rollout.pods] == [("github-0", True), ("github-1", True)]


async def test_the_message_names_the_pod_and_what_it_waits_on(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 3, ready=1)
    labels = fake.pods[(NS, "github-1")]["metadata"]["labels"]
    fake.pod(NS, "github-1", labels, ready=False, waiting=("ImagePullBackOff", 'pull "ghcr.io/x:9" failed'))
    fake.pod(NS, "github-2", labels, ready=False, unschedulable="0/3 nodes are available: 3 Insufficient cpu.")
    rollout = await cluster.rollout(NS, "github")
    assert (rollout.desired, rollout.ready) == (3, 1)
    assert 'github-1: container proxy waiting: ImagePullBackOff: pull "ghcr.io/x:9" failed' in rollout.message
    assert "github-2: not scheduled: Unschedulable: 0/3 nodes are available" in rollout.message


async def test_a_running_pod_that_fails_its_probe_says_so(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1, ready=0)
    rollout = await cluster.rollout(NS, "github")
    assert rollout.ready == 0
    assert rollout.message == "github-0: container proxy running, readiness probe failing"


async def test_ready_pods_of_an_old_revision_do_not_count_until_the_rollout_is_done(
    api: tuple[FakeCluster, Cluster],
) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 2, ready=2, updated=1)
    rollout = await cluster.rollout(NS, "github")
    assert rollout.ready == 1
    assert rollout.message.startswith("rolling out: 1 of 2 replica(s) updated")
    fake.statefulset(NS, "github", 2, ready=2, stale=True)
    rollout = await cluster.rollout(NS, "github")
    assert rollout.message.startswith("the StatefulSet controller has not seen the latest spec yet")


async def test_a_missing_statefulset_is_not_ready_and_not_an_error(api: tuple[FakeCluster, Cluster]) -> None:
    _, cluster = api
    rollout = await cluster.rollout(NS, "nothing")
    assert (rollout.desired, rollout.ready) == (0, 0)
    assert "StatefulSet mcp-adapters/nothing does not exist" in rollout.message


async def test_a_refused_token_is_a_target_error_saying_what_to_fix(tmp_path: Path) -> None:
    fake = FakeCluster()
    async with serve(fake.app) as url:
        cluster = Cluster(write_kubeconfig(tmp_path / "kubeconfig", url, "wrong"), None)
        with pytest.raises(TargetError, match="401 Unauthorized: the service's Kubernetes identity lacks"):
            await cluster.rollout(NS, "github")
        await cluster.close()


async def test_no_kubeconfig_outside_a_pod_is_a_clear_error() -> None:
    cluster = Cluster(None, None)
    with pytest.raises(TargetError, match="set MCP_ADAPTERS_KUBECONFIG"):
        await cluster.rollout(NS, "github")


async def test_logs_tail_and_follow(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1, ready=1)
    fake.write_log(NS, "github-0", "one", "two", "three")
    assert await cluster.logs(NS, "github-0", 2) == ["two", "three"]

    seen: list[str] = []
    with anyio.fail_after(10):
        async for line in cluster.follow(NS, "github-0", 1):
            seen.append(line.strip())
            if seen == ["three"]:
                fake.write_log(NS, "github-0", "four")
            if len(seen) == 2:
                break
    assert seen == ["three", "four"]


async def test_an_unreachable_api_is_a_target_error_naming_it(tmp_path: Path) -> None:
    from tests.conftest import free_port

    server = f"http://127.0.0.1:{free_port()}"
    cluster = Cluster(write_kubeconfig(tmp_path / "kubeconfig", server, "t"), None)
    with pytest.raises(TargetError, match=f"the Kubernetes API at {server} is unreachable"):
        await cluster.rollout(NS, "github")
    await cluster.close()


async def _first_line(cluster: Cluster, pod: str = "github-0") -> str:
    async with aclosing(cluster.follow(NS, pod, 10)) as lines:
        with anyio.fail_after(10):
            return await anext(lines)


async def test_following_a_missing_pod_says_which_pod_instead_of_streaming_the_error(
    api: tuple[FakeCluster, Cluster],
) -> None:
    _, cluster = api
    expected = 'following the log of pod mcp-adapters/github-0 failed (404 Not Found): pods "github-0" not found'
    with pytest.raises(TargetError) as caught:
        await _first_line(cluster)
    assert caught.value.message == expected


async def test_following_a_container_that_waits_to_start_says_so(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1)
    labels = fake.pods[(NS, "github-0")]["metadata"]["labels"]
    fake.pod(NS, "github-0", labels, ready=False, waiting=("ContainerCreating", ""))
    with pytest.raises(TargetError) as caught:
        await _first_line(cluster)
    assert caught.value.message == (
        "following the log of pod mcp-adapters/github-0 failed (400 Bad Request): "
        'container "proxy" in pod "github-0" is waiting to start: ContainerCreating'
    )


@pytest.mark.parametrize("doing", ["reading", "following"])
async def test_a_forbidden_log_names_the_missing_permission(api: tuple[FakeCluster, Cluster], doing: str) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1, ready=1)
    fake.forbidden.add("pods/log")
    with pytest.raises(TargetError) as caught:
        await (cluster.logs(NS, "github-0", 10) if doing == "reading" else _first_line(cluster))
    message = caught.value.message
    assert message.startswith(f"{doing} the log of pod mcp-adapters/github-0 failed (403 Forbidden: the service's")
    assert "lacks the permission" in message
    assert 'cannot get resource "pods/log" in API group "" in the namespace "mcp-adapters"' in message


async def test_a_follow_outlives_the_clients_default_request_timeout(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1, ready=1)
    fake.write_log(NS, "github-0", "before")
    async with aclosing(cluster.follow(NS, "github-0", 10)) as lines:
        with anyio.fail_after(10):
            assert (await anext(lines)).strip() == "before"
        # Six minutes pass, past the 300 s the client puts on a request without a timeout: the event loop's
        # clock, which every timer here reads, jumps ahead (and stays ahead, so it never runs backwards).
        loop = asyncio.get_running_loop()
        real_time = loop.time
        loop.time = lambda: real_time() + 360  # type: ignore[method-assign]
        fake.write_log(NS, "github-0", "after")
        with anyio.fail_after(10):
            assert (await anext(lines)).strip() == "after"


async def test_a_log_stream_the_api_drops_midway_ends_with_a_target_error(api: tuple[FakeCluster, Cluster]) -> None:
    fake, cluster = api
    fake.statefulset(NS, "github", 1, ready=1)
    fake.write_log(NS, "github-0", "one")
    async with aclosing(cluster.follow(NS, "github-0", 10)) as lines:
        with anyio.fail_after(10):
            assert (await anext(lines)).strip() == "one"
            fake.drop_log_streams(NS, "github-0")
            with pytest.raises(TargetError) as caught:
                await anext(lines)
    assert re.fullmatch(
        r"the log stream of pod mcp-adapters/github-0 from the Kubernetes API at http://127\.0\.0\.1:\d+ broke: "
        r".+; follow the log again to resume",
        caught.value.message,
    ), caught.value.message


async def test_an_api_that_never_answers_a_follow_is_a_target_error(tmp_path: Path) -> None:
    fake = FakeCluster()
    fake.statefulset(NS, "github", 1, ready=1)
    fake.unanswered.add("pods/log")
    async with serve(fake.app) as url:
        cluster = Cluster(write_kubeconfig(tmp_path / "kubeconfig", url, fake.token), None, request_timeout=0.5)
        try:
            with pytest.raises(TargetError) as caught:
                await _first_line(cluster)
        finally:
            await cluster.close()
    assert caught.value.message == f"the Kubernetes API at {url} is unreachable: no answer within 0.5 s"
