// The MCP console: list what an adapter offers and call its tools, in either protocol era, with the raw
// JSON-RPC exchange and how long each took.

import { adapterPath } from "./api.js";
import { announce, field, h, pretty, replace } from "./dom.js";
import { LEGACY, McpClient, MODERN } from "./mcp.js";
import { argumentsForm } from "./schemaform.js";

function contentItem(item) {
  if (item.type === "text") return h("pre", { class: "content-text", text: item.text });
  if (item.type === "image" && /^image\/(png|jpeg|gif|webp)$/.test(item.mimeType || "")) {
    return h("img", { src: `data:${item.mimeType};base64,${item.data}`, alt: "Image the tool returned", class: "content-image" });
  }
  return h("pre", { class: "content-other", text: pretty(item) });
}

function resultView(outcome) {
  if (outcome.error) {
    return h("div", { class: "result-error", id: "result-error", role: "alert" }, h("strong", { text: `Error ${outcome.error.code ?? ""}: ` }), h("span", { text: outcome.error.message }), outcome.error.data !== undefined ? h("pre", { text: pretty(outcome.error.data) }) : null);
  }
  const result = outcome.result || {};
  const parts = [];
  if (result.isError) parts.push(h("p", { class: "result-error", id: "result-error", text: "The tool reported an error (isError):" }));
  if (Array.isArray(result.content)) parts.push(h("div", { class: "content", id: "result-content" }, result.content.map(contentItem)));
  if (Array.isArray(result.contents)) parts.push(h("div", { class: "content", id: "result-content" }, result.contents.map((c) => (c.text !== undefined ? h("pre", { class: "content-text", text: c.text }) : h("pre", { text: pretty(c) })))));
  if (Array.isArray(result.messages)) parts.push(h("pre", { class: "content-other", text: pretty(result.messages) }));
  if (result.structuredContent !== undefined) parts.push(h("h3", { text: "structuredContent" }), h("pre", { id: "structured", text: pretty(result.structuredContent) }));
  if (!parts.length) parts.push(h("pre", { text: pretty(result) }));
  return h("div", {}, parts);
}

function exchangeView(entry, number) {
  const answer = entry.messages.length === 1 ? entry.messages[0] : entry.messages;
  return h(
    "li",
    { class: "exchange" },
    h(
      "details",
      {},
      h("summary", {}, h("span", { class: "muted", text: `#${number} ` }), h("code", { text: entry.method }), ` · HTTP ${entry.status || "—"} · `, h("span", { class: "ms", text: `${entry.ms.toFixed(1)} ms` }), ` · ${entry.era}`),
      h("h4", { text: "Request" }),
      h("pre", { text: pretty(entry.request) }),
      h("h4", { text: entry.failure ? "Failure" : "Response" }),
      h("pre", { text: entry.failure || (entry.messages.length ? pretty(answer) : "(no body)") }),
    ),
  );
}

export function mountConsole(main, name) {
  const endpoint = `${adapterPath(name)}/mcp`;
  const era = h("select", {}, h("option", { value: MODERN, text: `${MODERN} (stateless)` }), h("option", { value: LEGACY, text: `${LEGACY} (session)` }));
  const sessionState = h("p", { class: "muted", id: "session-state", "aria-live": "polite" });
  const endSession = h("button", { type: "button", id: "end-session", text: "End session", hidden: true });
  const catalog = h("div", { id: "catalog" });
  const callSlot = h("div", { id: "call-slot" });
  const result = h("div", { id: "result", "aria-live": "polite" });
  const exchanges = h("ul", { id: "exchanges", class: "exchanges" });
  let client = null;
  let exchanged = 0;

  const onExchange = (entry) => {
    exchanged += 1;
    exchanges.prepend(exchangeView(entry, exchanged));
    while (exchanges.children.length > 50) exchanges.lastChild.remove();
  };
  const describeSession = () => {
    if (client.era === MODERN) sessionState.textContent = "Stateless: every request stands alone.";
    else sessionState.textContent = client.session ? "Session open." : "No session yet: the first request opens one.";
    endSession.hidden = !client.session;
  };
  const newClient = async () => {
    await client?.close();
    client = new McpClient(endpoint, era.value, onExchange);
    describeSession();
    replace(catalog);
    replace(callSlot);
    replace(result);
  };
  era.addEventListener("change", newClient);
  endSession.addEventListener("click", async () => {
    await client.close();
    describeSession();
    announce("Session ended.");
  });

  const run = async (method, params) => {
    let outcome;
    try {
      outcome = await client.call(method, params);
    } catch (error) {
      outcome = { error: { message: error.message } };
    }
    describeSession();
    return outcome;
  };

  const showTool = (tool) => {
    const form = argumentsForm(tool.inputSchema || {});
    const errors = h("p", { class: "field-error", id: "call-error", role: "alert" });
    replace(
      callSlot,
      h(
        "form",
        {
          class: "card call",
          id: "tool-form",
          onsubmit: async (event) => {
            event.preventDefault();
            const read = form.read();
            errors.textContent = read.errors ? read.errors.join("; ") : "";
            if (read.errors) return;
            replace(result, h("p", { class: "muted", text: `Calling ${tool.name}…` }));
            const outcome = await run("tools/call", { name: tool.name, arguments: read.args });
            replace(result, h("h2", { text: `Result of ${tool.name}` }), resultView(outcome));
          },
        },
        h("h2", { text: `Call ${tool.name}` }),
        tool.description ? h("p", { class: "hint", text: tool.description }) : null,
        form.element,
        errors,
        h("button", { type: "submit", class: "primary", id: "call-tool", text: `Call ${tool.name}` }),
      ),
    );
    callSlot.querySelector("input, select, textarea")?.focus();
  };

  const list = async (what) => {
    const method = `${what}/list`;
    replace(catalog, h("p", { class: "muted", text: `Asking for ${what}…` }));
    const outcome = await run(method, {});
    if (outcome.error) {
      replace(catalog, resultView(outcome));
      return;
    }
    const items = outcome.result[what === "resources" ? "resources" : what] || [];
    const heading = h("h2", { text: `${what[0].toUpperCase()}${what.slice(1)} (${items.length})` });
    const entries = items.map((item) => {
      const label = item.name || item.uri;
      const actions = [];
      if (what === "tools") actions.push(h("button", { type: "button", class: "tool", "aria-label": `Use ${item.name}`, text: "Use", onclick: () => showTool(item) }));
      if (what === "resources") {
        actions.push(h("button", { type: "button", text: `Read ${label}`, onclick: async () => replace(result, h("h2", { text: `Contents of ${item.uri}` }), resultView(await run("resources/read", { uri: item.uri }))) }));
      }
      if (what === "prompts" && !(item.arguments || []).some((a) => a.required)) {
        actions.push(h("button", { type: "button", text: `Get ${label}`, onclick: async () => replace(result, h("h2", { text: `Prompt ${item.name}` }), resultView(await run("prompts/get", { name: item.name }))) }));
      }
      return h("li", {}, h("code", { text: label }), item.uri && item.name ? h("span", { class: "muted", text: ` ${item.uri}` }) : null, item.description ? h("p", { class: "hint", text: item.description }) : null, actions);
    });
    const listing = h("ul", { class: "catalog", id: `${what}-list` }, entries);
    const search = h("input", { type: "search", autocomplete: "off", placeholder: "name or description" });
    search.addEventListener("input", () => {
      const text = search.value.trim().toLowerCase();
      for (const li of listing.children) li.hidden = Boolean(text) && !li.textContent.toLowerCase().includes(text);
    });
    replace(
      catalog,
      heading,
      items.length > 8 ? field("catalog-filter", `Filter ${what}`, search) : null,
      items.length ? listing : h("p", { class: "muted", text: `No ${what}.` }),
    );
    announce(`${items.length} ${what}.`);
  };

  replace(
    main,
    h("div", { class: "view-head" }, h("h1", {}, "MCP console ", h("span", { class: "muted", text: name })), h("a", { href: `#/adapters/${name}`, text: `Back to ${name}` })),
    h("p", { class: "hint" }, "Talks to ", h("code", { text: endpoint }), " as you, the way an MCP client would."),
    h(
      "div",
      { class: "toolbar" },
      field("era", "Protocol era", era),
      h("button", { type: "button", id: "list-tools", text: "List tools", onclick: () => list("tools") }),
      h("button", { type: "button", id: "list-resources", text: "List resources", onclick: () => list("resources") }),
      h("button", { type: "button", id: "list-prompts", text: "List prompts", onclick: () => list("prompts") }),
      endSession,
    ),
    sessionState,
    h("div", { class: "console-grid" }, h("section", { class: "card", "aria-label": "Catalog" }, catalog), h("div", {}, callSlot, h("section", { class: "card", "aria-label": "Result" }, result))),
    h("section", { class: "card", "aria-labelledby": "exchanges-title" }, h("h2", { id: "exchanges-title", text: "JSON-RPC exchange" }), exchanges),
  );
  newClient();
  return () => {
    client?.close();
  };
}
