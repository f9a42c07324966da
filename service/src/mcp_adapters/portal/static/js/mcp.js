// A small MCP client over streamable HTTP, both protocol eras:
//   2026-07-28: stateless, every request carries its own `_meta` and the MCP-Protocol-Version / Mcp-Method /
//               Mcp-Name headers;
//   2025-11-25: `initialize`, then `notifications/initialized`, then requests in the `Mcp-Session-Id` session,
//               ended with DELETE.
// Answers come as JSON or as an SSE stream; the stream is read until the answer to our request arrives.

import { identityHeaders } from "./identity.js";

export const MODERN = "2026-07-28";
export const LEGACY = "2025-11-25";
const CLIENT_INFO = { name: "mcp-adapters-portal", version: "1" };
const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
};
const NAMED = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };

async function* sseMessages(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data) yield JSON.parse(data);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export class McpClient {
  constructor(endpoint, era, onExchange) {
    this.endpoint = endpoint;
    this.era = era;
    this.onExchange = onExchange;
    this.session = null;
    this.nextId = 1;
  }

  async post(body, extraHeaders) {
    const headers = {
      ...identityHeaders(),
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
      ...extraHeaders,
    };
    return fetch(this.endpoint, { method: "POST", headers, body: JSON.stringify(body), cache: "no-store" });
  }

  /** Send one JSON-RPC message; the messages the server sent back (the answer last, when there is one). */
  async exchange(body, headers) {
    const started = performance.now();
    const entry = { era: this.era, method: body.method, request: body, status: 0, messages: [], ms: 0 };
    try {
      const response = await this.post(body, headers);
      entry.status = response.status;
      entry.sessionId = response.headers.get("mcp-session-id");
      const type = response.headers.get("content-type") || "";
      if (type.startsWith("text/event-stream")) {
        for await (const message of sseMessages(response)) {
          entry.messages.push(message);
          if (body.id !== undefined && message.id === body.id && ("result" in message || "error" in message)) break;
        }
      } else if (type.includes("json")) {
        const parsed = await response.json();
        entry.messages.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      } else {
        const text = await response.text();
        if (text) entry.messages.push({ text });
      }
      return entry;
    } catch (error) {
      entry.failure = error.message;
      return entry;
    } finally {
      entry.ms = performance.now() - started;
      this.onExchange(entry);
    }
  }

  async openSession() {
    const init = await this.exchange({
      jsonrpc: "2.0",
      id: this.nextId++,
      method: "initialize",
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: CLIENT_INFO },
    });
    const answer = init.messages.at(-1);
    if (!init.sessionId || !answer?.result) {
      throw new Error(answer?.error?.message || init.failure || `initialize answered ${init.status}`);
    }
    this.session = init.sessionId;
    this.serverInfo = answer.result.serverInfo;
    const note = await this.exchange({ jsonrpc: "2.0", method: "notifications/initialized" }, this.sessionHeaders());
    if (note.status !== 202 && note.status !== 200) throw new Error(`notifications/initialized answered ${note.status}`);
  }

  sessionHeaders() {
    return { "Mcp-Session-Id": this.session, "MCP-Protocol-Version": LEGACY };
  }

  /** Call `method`; resolves to {result} or {error}, with the exchange that carried it. */
  async call(method, params = {}) {
    if (this.era === LEGACY) {
      if (!this.session) await this.openSession();
      let entry = await this.exchange({ jsonrpc: "2.0", id: this.nextId++, method, params }, this.sessionHeaders());
      if (entry.status === 404) {
        this.session = null; // the session is gone (replica restarted): start a new one, once
        await this.openSession();
        entry = await this.exchange({ jsonrpc: "2.0", id: this.nextId++, method, params }, this.sessionHeaders());
      }
      return this.outcome(entry);
    }
    const headers = { "MCP-Protocol-Version": MODERN, "Mcp-Method": method };
    const named = NAMED[method];
    if (named && params[named] !== undefined) headers["Mcp-Name"] = String(params[named]);
    const body = { jsonrpc: "2.0", id: this.nextId++, method, params: { ...params, _meta: MODERN_META } };
    return this.outcome(await this.exchange(body, headers));
  }

  outcome(entry) {
    const answer = entry.messages.find((m) => m.id === entry.request.id && ("result" in m || "error" in m));
    if (answer) return { ...answer, entry };
    const message = entry.failure || entry.messages.at(-1)?.error?.message || `HTTP ${entry.status} without an answer`;
    return { error: { code: entry.status, message }, entry };
  }

  async close() {
    if (!this.session) return;
    const session = this.session;
    this.session = null;
    await fetch(this.endpoint, {
      method: "DELETE",
      headers: { ...identityHeaders(), "Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY },
      keepalive: true,
    }).catch(() => {});
  }
}
