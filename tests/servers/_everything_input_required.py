"""2026-07-28 input-required fixtures of the conformance suite, plus its prompts, resources and completions.

The tools build `InputRequiredResult`s by hand (fixed input-request keys the
suite checks); the SDK's request-state boundary seals `requestState`, so a
tampered state is refused without any code here.
"""

from __future__ import annotations

import json
from typing import Any

from _everything_fixtures import PNG, _accepted, _elicit, _sampled_text, _sampling, _text
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp_types import (
    CallToolResult,
    ClientCapabilities,
    Completion,
    CompletionArgument,
    CompletionContext,
    ElicitationCapability,
    EmbeddedResource,
    GetPromptResult,
    ImageContent,
    InputRequest,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    PromptMessage,
    PromptReference,
    ResourceTemplateReference,
    RootsCapability,
    SamplingCapability,
    TextContent,
    TextResourceContents,
)

NAME_QUESTION = _elicit("What is your name?", {"name": {"type": "string"}}, ["name"])


def register_input_required_tools(app: MCPServer[Any]) -> None:
    @app.tool(description="Asks for the user's name via an input-required result.")
    def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = _accepted(ctx.input_responses, "user_name")
        if answer is None or "name" not in answer:
            return InputRequiredResult(input_requests={"user_name": NAME_QUESTION})
        return _text(f"Hello, {answer['name']}!")

    @app.tool(description="Asks the client's LLM via an input-required result.")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        text = _sampled_text(ctx.input_responses, "capital_question")
        if text is None:
            question = _sampling("What is the capital of France?", 100)
            return InputRequiredResult(input_requests={"capital_question": question})
        return _text(f"The LLM answered: {text}")

    @app.tool(description="Asks for the client's roots via an input-required result.")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        roots = (ctx.input_responses or {}).get("client_roots")
        if not isinstance(roots, ListRootsResult):
            return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
        return _text("Roots: " + ", ".join(str(root.uri) for root in roots.roots))

    @app.tool(description="Round-trips requestState.")
    def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = _accepted(ctx.input_responses, "confirm")
        if answer is None or ctx.request_state != "confirm-pending":
            question = _elicit("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
            return InputRequiredResult(input_requests={"confirm": question}, request_state="confirm-pending")
        return _text(f"state-ok: confirmed={answer.get('ok')}")

    @app.tool(description="Several input requests at once.")
    def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        responses = ctx.input_responses or {}
        if ctx.request_state == "all-asked" and {"user_name", "greeting", "client_roots"} <= responses.keys():
            return _text(f"Got all inputs: {sorted(responses)}")
        requests: dict[str, InputRequest] = {
            "user_name": NAME_QUESTION,
            "greeting": _sampling("Generate a greeting", 50),
            "client_roots": ListRootsRequest(),
        }
        return InputRequiredResult(input_requests=requests, request_state="all-asked")

    @app.tool(description="Two rounds of elicitation with evolving requestState.")
    def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        state = ctx.request_state or ""
        color = _accepted(ctx.input_responses, "step2")
        if state.startswith("round-2:") and color is not None:
            return _text(f"{state.removeprefix('round-2:')} likes {color.get('color')}")
        name = _accepted(ctx.input_responses, "step1")
        if state == "round-1" and name is not None:
            question = _elicit("Step 2: What is your favorite color?", {"color": {"type": "string"}}, ["color"])
            return InputRequiredResult(input_requests={"step2": question}, request_state=f"round-2:{name.get('name')}")
        question = _elicit("Step 1: What is your name?", {"name": {"type": "string"}}, ["name"])
        return InputRequiredResult(input_requests={"step1": question}, request_state="round-1")

    @app.tool(description="Integrity-protected requestState (sealed by the SDK).")
    def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.request_state == "genuine" and _accepted(ctx.input_responses, "user_name") is not None:
            return _text("state verified")
        return InputRequiredResult(input_requests={"user_name": NAME_QUESTION}, request_state="genuine")

    @app.tool(description="Only asks for what the client declared it can do.")
    def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.input_responses:
            return _text("Got: " + ", ".join(sorted(ctx.input_responses)))
        requests: dict[str, InputRequest] = {}
        if ctx.session.check_client_capability(ClientCapabilities(sampling=SamplingCapability())):
            requests["greeting"] = _sampling("Generate a greeting", 50)
        if ctx.session.check_client_capability(ClientCapabilities(elicitation=ElicitationCapability())):
            requests["user_name"] = NAME_QUESTION
        if ctx.session.check_client_capability(ClientCapabilities(roots=RootsCapability())):
            requests["client_roots"] = ListRootsRequest()
        if not requests:
            return _text("the client declared no capability this tool could use")
        return InputRequiredResult(input_requests=requests)

    @app.tool(description="Streams nothing but its own result (a 2026-07-28 server sends no requests).")
    def test_streaming_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        if _accepted(ctx.input_responses, "user_name") is None:
            return InputRequiredResult(input_requests={"user_name": NAME_QUESTION})
        return _text("done")

    del test_input_required_result_elicitation, test_input_required_result_sampling
    del test_input_required_result_list_roots, test_input_required_result_request_state
    del test_input_required_result_multiple_inputs, test_input_required_result_multi_round
    del test_input_required_result_tampered_state, test_input_required_result_capabilities
    del test_streaming_elicitation


def register_prompts(app: MCPServer[Any]) -> None:
    @app.prompt(description="A simple prompt without arguments.")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @app.prompt(description="A prompt with two required arguments.")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @app.prompt(description="A prompt embedding the resource `resourceUri`.")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:
        resource = TextResourceContents(
            uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
        )
        return [
            UserMessage(content=EmbeddedResource(type="resource", resource=resource)),
            UserMessage(content="Please process the embedded resource above."),
        ]

    @app.prompt(description="A prompt with an image.")
    def test_prompt_with_image() -> list[Message]:
        return [
            UserMessage(content=ImageContent(type="image", data=PNG, mime_type="image/png")),
            UserMessage(content="Please analyze the image above."),
        ]

    @app.prompt(description="A prompt that needs input first (2026-07-28).")
    def test_input_required_result_prompt(ctx: Context) -> GetPromptResult | InputRequiredResult:
        answer = _accepted(ctx.input_responses, "user_context")
        if answer is None:
            question = _elicit("What context should the prompt use?", {"context": {"type": "string"}}, ["context"])
            return InputRequiredResult(input_requests={"user_context": question})
        text = f"Use this context: {answer.get('context')}"
        return GetPromptResult(messages=[PromptMessage(role="user", content=TextContent(type="text", text=text))])

    del test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource
    del test_prompt_with_image, test_input_required_result_prompt


def register_resources(app: MCPServer[Any]) -> None:
    @app.resource(
        "test://static-text", name="static-text", description="A static text resource.", mime_type="text/plain"
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @app.resource("test://static-binary", name="static-binary", description="A PNG image.", mime_type="image/png")
    def static_binary() -> bytes:
        import base64

        return base64.b64decode(PNG)

    @app.resource("test://template/{id}/data", name="template", description="Data by id.", mime_type="application/json")
    def template(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    del static_text, static_binary, template


COMPLETIONS = {"arg1": ["paris", "park", "party"], "arg2": ["world", "wonder"], "id": ["1", "2", "3", "123"]}


def register_completions(app: MCPServer[Any]) -> None:
    @app.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        values = [v for v in COMPLETIONS.get(argument.name, []) if v.startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)

    del complete
