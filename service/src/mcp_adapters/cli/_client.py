"""The REST client behind the CLI's commands: one httpx client, problems turned into readable errors."""

from __future__ import annotations

from typing import Any

import httpx
import typer


class ApiClient:
    def __init__(self, server: str, token: str | None, user: str | None, roles: str | None) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if user:
            headers["X-Dev-UserId"] = user
        if roles is not None:
            headers["X-Dev-Roles"] = roles
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, headers=headers, timeout=30, trust_env=False)

    def request(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 202), **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.server}: {exc} (start it with `mcp-adapters serve`, or pass --server)")
        if response.status_code not in ok:
            fail(describe(response))
        return response

    def stream_lines(self, path: str, params: dict[str, Any]) -> None:
        try:
            with self.http.stream("GET", path, params=params, timeout=httpx.Timeout(30, read=None)) as response:
                if response.status_code != 200:
                    response.read()
                    fail(describe(response))
                for line in response.iter_lines():
                    typer.echo(line)
        except httpx.HTTPError as exc:
            fail(f"the log stream from {self.server} ended: {exc}")


def describe(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code}: {response.text[:500]}"
    if not isinstance(problem, dict):
        return f"{response.status_code}: {problem}"
    lines = [f"{problem.get('title', response.status_code)}: {problem.get('detail', '')}"]
    for error in problem.get("errors", []):
        where = error.get("field") or error.get("rule") or ""
        lines.append(f"  - {where}: {error.get('message', '')}")
    return "\n".join(lines)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"mcp-adapters: {message}", err=True)
    raise typer.Exit(code)
