"""The everything server's own feature set: what the bridge tests exercise.

Each tool is small and observable from the client side, so a test asserts what a
user of the bridge would notice (a value, a notification, a process exiting).
The conformance suite's fixtures live in `_everything_fixtures`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import anyio
from _everything_state import ServerState
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp_types import (
    CreateMessageResult,
    EmptyResult,
    LoggingLevel,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel, Field

SERVER_NAME = "everything"
SERVER_VERSION = "1.0.0"


def lowlevel(app: MCPServer[Any]) -> Server[Any]:
    """The low-level `Server` under `MCPServer`.

    MCPServer has no public accessor for it, and we need it for three things it
    does not expose: the handshake-era `resources/subscribe` / `unsubscribe` and
    `logging/setLevel` handlers, and driving one protocol era over stdio
    (`_everything_eras`). This is the only place that reaches in.
    """
    return app._lowlevel_server  # pyright: ignore[reportPrivateUsage]


class Name(BaseModel):
    name: str = Field(description="Your name")


def _ask_name(message: str) -> Elicit[Name]:
    return Elicit(message, Name)


def _ask_llm(prompt: str) -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)


def register_tools(app: MCPServer[Any], state: ServerState) -> None:
    @app.tool(description="Echo the message back unchanged.")
    def echo(message: str) -> str:
        return message

    @app.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @app.tool(description="Sleep `seconds` in `steps`, reporting progress after each; honours cancellation.")
    async def slow(ctx: Context, seconds: float = 5.0, steps: int = 10) -> str:
        state.slow_started += 1
        state.bump()
        try:
            for step in range(steps):
                await ctx.report_progress(step, steps, f"step {step}/{steps}")
                await anyio.sleep(seconds / max(steps, 1))
            await ctx.report_progress(steps, steps, "done")
        except anyio.get_cancelled_exc_class():
            state.slow_cancelled += 1
            state.bump()
            raise
        state.slow_completed += 1
        state.bump()
        return f"slept {seconds}s in {steps} steps"

    @app.tool(description="Counters of this process; waits (bounded) until slow_cancelled reaches `wait_cancelled`.")
    async def stats(wait_cancelled: int = 0, timeout: float = 10.0) -> dict[str, int]:
        with anyio.move_on_after(timeout):
            while state.slow_cancelled < wait_cancelled:
                await state.changed.wait()
        return state.as_dict()

    @app.tool(description="Send `message` as a notifications/message log entry at `level`.")
    async def log(ctx: Context, message: str, level: LoggingLevel = "info") -> str:
        if state.log_enabled(level):
            await ctx.log(level, message, logger_name=SERVER_NAME)
        return f"logged at {level}"

    @app.tool(description="This process's environment variable `name` (null when unset), cwd and pid.")
    def env(name: str) -> dict[str, Any]:
        return {"name": name, "value": os.environ.get(name), "cwd": os.getcwd(), "pid": os.getpid()}

    @app.tool(description="Write `message` as one line to the process's stderr.")
    def stderr(message: str) -> str:
        print(message, file=sys.stderr, flush=True)
        return "written to stderr"

    @app.tool(description="Exit the process at once with `code`, without answering (a crash).")
    def crash(code: int = 1) -> str:
        print(f"everything: crashing with exit code {code}", file=sys.stderr, flush=True)
        os._exit(code)

    @app.tool(description="Ask the client's LLM (sampling; an input-required result on 2026-07-28).")
    def sample(prompt: str, answer: Annotated[CreateMessageResult, Resolve(_ask_llm)]) -> str:
        text = answer.content.text if isinstance(answer.content, TextContent) else str(answer.content)
        return f"LLM said: {text}"

    @app.tool(description="Ask the user their name (elicitation; an input-required result on 2026-07-28).")
    def elicit(message: str, answer: Annotated[ElicitationResult[Name], Resolve(_ask_name)]) -> str:
        if isinstance(answer, AcceptedElicitation):
            return f"Hello, {answer.data.name}!"
        return f"elicitation {answer.action}"

    @app.tool(description="A text result of exactly `size` characters.")
    def large(size: int) -> str:
        return ("0123456789" * (size // 10 + 1))[:size]

    @app.tool(description="Mark resource `uri` as changed: notifies subscribers of both eras.")
    async def touch(ctx: Context, uri: str) -> dict[str, Any]:
        state.resource_versions[uri] += 1
        for session in list(state.subscribers.get(uri, ())):
            try:
                await session.send_resource_updated(uri)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                state.subscribers[uri].remove(session)
        await ctx.notify_resource_updated(uri)
        return {"uri": uri, "version": state.resource_versions[uri]}

    # Keep the names referenced so linters see them as used registrations.
    del echo, add, slow, stats, log, env, stderr, crash, sample, elicit, large, touch


def register_resources(app: MCPServer[Any], state: ServerState) -> None:
    @app.resource("test://watched-resource", name="watched", description="Changes when `touch` names it.")
    def watched() -> str:
        return json.dumps(
            {"uri": "test://watched-resource", "version": state.resource_versions["test://watched-resource"]}
        )

    @app.resource("env://{name}", name="env", description="Environment variable `name` of the server process.")
    def env_var(name: str) -> str:
        return os.environ.get(name, "")

    del watched, env_var


def register_handshake_handlers(app: MCPServer[Any], state: ServerState) -> None:
    """`resources/subscribe`, `resources/unsubscribe` and `logging/setLevel`, which MCPServer leaves unserved."""
    server = lowlevel(app)

    async def subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        state.subscribers[str(params.uri)].append(ctx.session)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        sessions = state.subscribers.get(str(params.uri), [])
        # A request's session is per request; its connection is what identifies the subscriber.
        state.subscribers[str(params.uri)] = [s for s in sessions if s.client_params is not ctx.session.client_params]
        return EmptyResult()

    async def set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
        state.min_log_level = params.level
        return EmptyResult()

    server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
