"""Fixtures the official conformance suite looks for (`@modelcontextprotocol/conformance`).

Names, arguments and payloads follow the scenario descriptions of the pinned
suite version (`conformance list --server`, each scenario's "Server
Implementation Requirements"), so a scenario that passes against this server
passes for the server's behaviour, not for a missing fixture.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    AudioContent,
    CallToolResult,
    ClientCapabilities,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    ImageContent,
    MissingRequiredClientCapabilityErrorData,
    SamplingCapability,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, Field

# A 1x1 red PNG and a tiny silent WAV: the smallest valid media the scenarios accept.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
        "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
    )
).decode()
WAV = base64.b64encode(
    b"RIFF" + (36 + 2).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    + (16000).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    + b"data" + (2).to_bytes(4, "little") + b"\x00\x00"
).decode()  # fmt: skip

JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def _text(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)])


def _elicit(message: str, properties: dict[str, Any], required: list[str]) -> ElicitRequest:
    schema = {"type": "object", "properties": properties, "required": required}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def _sampling(text: str, max_tokens: int) -> CreateMessageRequest:
    message = SamplingMessage(role="user", content=TextContent(type="text", text=text))
    return CreateMessageRequest(params=CreateMessageRequestParams(messages=[message], max_tokens=max_tokens))


def _accepted(responses: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    answer = (responses or {}).get(key)
    if isinstance(answer, ElicitResult) and answer.action == "accept":
        return dict(answer.content or {})
    return None


def _sampled_text(responses: dict[str, Any] | None, key: str) -> str | None:
    answer = (responses or {}).get(key)
    if isinstance(answer, CreateMessageResult) and isinstance(answer.content, TextContent):
        return answer.content.text
    return None


class Contact(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


def _ask_contact(message: str) -> Elicit[Contact]:
    return Elicit(message, Contact)


def _ask_sampling(prompt: str) -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)


def fixture_tools() -> list[Tool]:
    """Tools whose input schema is written by hand rather than derived from a signature."""
    tool = Tool.from_function(lambda: "ok", name="json_schema_2020_12_tool", description="JSON Schema 2020-12 tool")
    return [tool.model_copy(update={"parameters": JSON_SCHEMA_2020_12})]


def register_content_tools(app: MCPServer[Any]) -> None:
    @app.tool(description="Returns a simple text response.")
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @app.tool(description="Returns an image.")
    def test_image_content() -> CallToolResult:
        return CallToolResult(content=[ImageContent(type="image", data=PNG, mime_type="image/png")])

    @app.tool(description="Returns audio.")
    def test_audio_content() -> CallToolResult:
        return CallToolResult(content=[AudioContent(type="audio", data=WAV, mime_type="audio/wav")])

    @app.tool(description="Returns an embedded resource.")
    def test_embedded_resource() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )
        return CallToolResult(content=[EmbeddedResource(type="resource", resource=resource)])

    @app.tool(description="Returns text, image and resource content.")
    def test_multiple_content_types() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://mixed-content-resource",
            mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}),
        )
        return CallToolResult(
            content=[
                TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=PNG, mime_type="image/png"),
                EmbeddedResource(type="resource", resource=resource),
            ]
        )

    @app.tool(description="Sends three info log messages while running.")
    async def test_tool_with_logging(ctx: Context) -> str:
        for index, text in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
            if index:
                await anyio.sleep(0.05)
            await ctx.info(text)
        return "Tool with logging executed successfully"

    @app.tool(description="Sends one log message (2026-07-28: only when the request opted in).")
    async def test_logging_tool(ctx: Context) -> str:
        await ctx.info("test_logging_tool ran")
        return "logged"

    @app.tool(description="Always fails.")
    def test_error_handling() -> CallToolResult:
        return CallToolResult(
            content=[TextContent(type="text", text="This tool intentionally returns an error for testing")],
            is_error=True,
        )

    @app.tool(description="Reports progress 0, 50, 100 of 100.")
    async def test_tool_with_progress(ctx: Context) -> str:
        for progress in (0, 50, 100):
            if progress:
                await anyio.sleep(0.05)
            await ctx.report_progress(progress, 100)
        return "Tool with progress executed successfully"

    @app.tool(description="Samples the client's LLM with `prompt`.")
    def test_sampling(prompt: str, answer: Annotated[CreateMessageResult, Resolve(_ask_sampling)]) -> str:
        text = answer.content.text if isinstance(answer.content, TextContent) else str(answer.content)
        return f"LLM response: {text}"

    @app.tool(description="Asks the user for a username and email.")
    def test_elicitation(message: str, answer: Annotated[ElicitationResult[Contact], Resolve(_ask_contact)]) -> str:
        content = answer.data.model_dump() if isinstance(answer, AcceptedElicitation) else {}
        return f"User response: <action: {answer.action}, content: {json.dumps(content)}>"

    @app.tool(description="Elicitation with defaults for every primitive type (SEP-1034).")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": True},
            },
        }
        result = await ctx.session.elicit_form("Please review your details", schema, ctx.request_context.request_id)
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"

    @app.tool(description="Elicitation with the five enum schema variants (SEP-1330).")
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        titled = [{"const": f"value{i}", "title": title} for i, title in enumerate(("First", "Second", "Third"), 1)]
        schema = {
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [{**t, "title": f"{t['title']} Option"} for t in titled]},
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "items": {"anyOf": [{**t, "title": f"{t['title']} Choice"} for t in titled]},
                },
            },
        }
        result = await ctx.session.elicit_form("Choose your options", schema, ctx.request_context.request_id)
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"

    @app.tool(description="Needs the client's sampling capability (-32021 when undeclared).")
    def test_missing_capability(ctx: Context) -> str:
        if not ctx.session.check_client_capability(ClientCapabilities(sampling=SamplingCapability())):
            data = MissingRequiredClientCapabilityErrorData(
                required_capabilities=ClientCapabilities(sampling=SamplingCapability())
            )
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="this tool needs the client's sampling capability",
                data=data.model_dump(by_alias=True, mode="json", exclude_none=True),
            )
        return "client declared sampling"

    @app.tool(description="Echoes `region`, which 2026-07-28 clients mirror in an Mcp-Param-Region header.")
    def test_headers(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
        return f"region={region}"

    @app.tool(description="Adds or removes a tool, announcing tools/list_changed.")
    async def test_trigger_tool_change(ctx: Context) -> str:
        if any(t.name == "test_dynamic_tool" for t in await app.list_tools()):
            app.remove_tool("test_dynamic_tool")
        else:
            app.add_tool(lambda: "dynamic", name="test_dynamic_tool", description="Appears and disappears.")
        await ctx.notify_tools_changed()
        return "tool list changed"

    @app.tool(description="Adds or removes a prompt, announcing prompts/list_changed.")
    async def test_trigger_prompt_change(ctx: Context) -> str:
        if any(p.name == "test_dynamic_prompt" for p in await app.list_prompts()):
            app.remove_prompt("test_dynamic_prompt")
        else:
            app.prompt(name="test_dynamic_prompt", description="Appears and disappears.")(lambda: "dynamic")
        await ctx.notify_prompts_changed()
        return "prompt list changed"

    del test_simple_text, test_image_content, test_audio_content, test_embedded_resource
    del test_multiple_content_types, test_tool_with_logging, test_logging_tool, test_error_handling
    del test_tool_with_progress, test_sampling, test_elicitation, test_elicitation_sep1034_defaults
    del (
        test_elicitation_sep1330_enums,
        test_missing_capability,
        test_headers,
        test_trigger_tool_change,
        test_trigger_prompt_change,
    )
