// One adapter: spec, status and conditions, operations, logs, and the actions the caller may take.

import { adapterPath, ApiError, getJson, request } from "./api.js";
import { announce, field, h, phaseBadge, pretty, replace, setText, when } from "./dom.js";
import * as identity from "./identity.js";
import { logPanel, operationLog } from "./logs.js";
import { REDACTED } from "./secrets.js";

const POLL_MS = 2000;

function specList(adapter) {
  const env = Object.entries(adapter.environmentVariables || {});
  const row = (term, ...value) => [h("dt", { text: term }), h("dd", {}, ...value)];
  return h(
    "dl",
    { class: "spec" },
    row("Image", h("code", { text: `${adapter.imageName}:${adapter.imageVersion}` })),
    row("Replicas", String(adapter.replicaCount)),
    row("Description", adapter.description || "—"),
    row("Required roles", (adapter.requiredRoles || []).join(", ") || "— (only the creator and admins)"),
    row("Workload identity", adapter.useWorkloadIdentity ? "yes" : "no"),
    row("Created", `${when(adapter.createdAt)} by ${adapter.createdBy}`),
    row("Last updated", when(adapter.lastUpdatedAt)),
    row(
      "Environment",
      env.length
        ? h("ul", { class: "env-list" }, env.map(([k, v]) => h("li", {}, h("code", { text: k }), " = ", v === REDACTED ? h("span", { class: "redacted", text: "•••• (secret)" }) : h("code", { text: v }))))
        : "—",
    ),
  );
}

function conditionsTable(conditions) {
  if (!conditions?.length) return h("p", { class: "muted", text: "No conditions yet." });
  return h(
    "table",
    { class: "conditions" },
    h("thead", {}, h("tr", {}, ["Type", "Status", "Reason", "Message", "Since"].map((t) => h("th", { scope: "col", text: t })))),
    h(
      "tbody",
      {},
      conditions.map((c) =>
        h(
          "tr",
          { class: `condition-${c.status.toLowerCase()}` },
          h("th", { scope: "row", "data-label": "Type", text: c.type }),
          h("td", { "data-label": "Status", text: c.status }),
          h("td", { "data-label": "Reason", text: c.reason }),
          h("td", { "data-label": "Message", text: c.message }),
          h("td", { "data-label": "Since", text: when(c.lastTransitionTime) }),
        ),
      ),
    ),
  );
}

function changes(operation) {
  const counts = operation.resourceChanges;
  return counts ? Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ") : "";
}

function operationsTable(operations) {
  if (!operations.length) return h("p", { class: "muted", text: "No operations yet." });
  return h(
    "table",
    { class: "operations", id: "operations" },
    h("thead", {}, h("tr", {}, ["#", "Kind", "Generation", "Outcome", "Started", "Finished", "Changes", "Message"].map((t) => h("th", { scope: "col", text: t })))),
    h(
      "tbody",
      {},
      operations.map((op) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "#", text: op.id }),
          h("td", { "data-label": "Kind", text: op.kind }),
          h("td", { "data-label": "Generation", text: op.generation }),
          h("td", { "data-label": "Outcome" }, h("span", { class: `outcome outcome-${op.outcome}`, text: op.outcome })),
          h("td", { "data-label": "Started", text: when(op.startedAt) }),
          h("td", { "data-label": "Finished", text: when(op.finishedAt) }),
          h("td", { "data-label": "Changes", text: changes(op) }),
          h("td", { "data-label": "Message", text: op.message }),
        ),
      ),
    ),
  );
}

function deleteDialog(name, onDeleted) {
  const input = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const confirm = h("button", { type: "submit", class: "danger", id: "confirm-delete", text: "Delete", disabled: true });
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "delete-title" },
    h(
      "form",
      {
        method: "dialog",
        onsubmit: async (event) => {
          event.preventDefault();
          if (input.value !== name) return;
          confirm.disabled = true;
          try {
            await request("DELETE", adapterPath(name));
          } catch (error) {
            announce(`Could not delete ${name}: ${error.message}`, "error");
            confirm.disabled = false;
            return;
          }
          dialog.close();
          onDeleted();
        },
      },
      h("h2", { id: "delete-title", text: `Delete ${name}?` }),
      h("p", { text: "Its replicas stop and its endpoint goes away. This cannot be undone." }),
      field("delete-confirm-name", `Type ${name} to confirm`, input),
      h("div", { class: "actions" }, confirm, h("button", { type: "button", text: "Cancel", onclick: () => dialog.close() })),
    ),
  );
  input.addEventListener("input", () => (confirm.disabled = input.value !== name));
  return dialog;
}

export function mountDetail(main, name) {
  const controller = new AbortController();
  const phase = h("span", { id: "phase" });
  const summary = h("p", { class: "summary", id: "summary" });
  const actions = h("div", { class: "actions", id: "adapter-actions" });
  const spec = h("div", {});
  const conditions = h("div", { id: "conditions" });
  const lastOp = h("div", { id: "last-operation" });
  const opLog = h("pre", { class: "log", id: "operation-log", tabindex: "0", "aria-label": "Last operation's log" });
  const operations = h("div", {});
  const seen = { spec: "", status: "", ops: "", opKey: "" };
  let logs = null;
  let deleting = false;

  replace(
    main,
    h("div", { class: "view-head" }, h("h1", {}, "Adapter ", h("span", { text: name })), phase),
    summary,
    actions,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "status-title" }, h("h2", { id: "status-title", text: "Status" }), conditions),
      h("section", { class: "card", "aria-labelledby": "spec-title" }, h("h2", { id: "spec-title", text: "Spec" }), spec),
    ),
    h("section", { class: "card", "aria-labelledby": "op-title" }, h("h2", { id: "op-title", text: "Last operation" }), lastOp, h("details", {}, h("summary", { text: "Its log" }), opLog)),
    h("section", { class: "card", "aria-labelledby": "ops-title" }, h("h2", { id: "ops-title", text: "Operations over time" }), operations),
  );

  const renderActions = (adapter) => {
    const items = [h("a", { class: "button", href: `#/adapters/${name}/console`, id: "open-console", text: "Open MCP console" })];
    if (identity.canChange(adapter)) {
      items.push(h("a", { class: "button", href: `#/adapters/${name}/edit`, id: "edit", text: "Edit" }));
      const dialog = deleteDialog(name, () => {
        deleting = true;
        announce(`Deleting ${name}…`);
      });
      items.push(h("button", { type: "button", class: "danger", id: "delete", text: "Delete", onclick: () => dialog.showModal() }), dialog);
    }
    replace(actions, items);
  };

  const show = (adapter) => {
    const status = adapter.status || {};
    if (phase.textContent !== status.phase) replace(phase, phaseBadge(status.phase));
    const replicas = status.replicas || {};
    setText(summary, `${replicas.ready ?? 0} of ${replicas.desired ?? adapter.replicaCount} replicas ready · generation ${adapter.generation}, observed ${status.observedGeneration ?? 0} · endpoint ${status.endpoint || ""}`);
    const specKey = pretty({ ...adapter, status: undefined });
    if (specKey !== seen.spec) {
      if (!seen.spec) renderActions(adapter);
      seen.spec = specKey;
      replace(spec, specList(adapter));
      logs?.setInstances(adapter.replicaCount);
    }
    const statusKey = pretty(status.conditions);
    if (statusKey !== seen.status) {
      seen.status = statusKey;
      replace(conditions, conditionsTable(status.conditions));
    }
    const op = status.lastOperation;
    const opKey = op ? `${op.id}:${op.outcome}:${op.message}` : "";
    if (opKey !== seen.opKey) {
      seen.opKey = opKey;
      replace(
        lastOp,
        op
          ? h("p", {}, h("span", { class: `outcome outcome-${op.outcome}`, text: op.outcome }), ` ${op.kind} of generation ${op.generation} (attempt ${op.attempt}) started ${when(op.startedAt)}`, op.message ? `: ${op.message}` : "", changes(op) ? ` · ${changes(op)}` : "")
          : h("p", { class: "muted", text: "No operation yet." }),
      );
      if (op) operationLog(name, opLog);
    }
    if (!logs) {
      logs = logPanel(name, adapter.replicaCount);
      main.append(logs.section);
    }
    if ((replicas.ready ?? 0) > 0) logs.loadOnce();
  };

  let timer = null;
  // Once deleted, watch the list (not the adapter itself, which would answer 404s) until it is gone.
  const waitForDeletion = async () => {
    try {
      const adapters = await getJson("/adapters", { signal: controller.signal });
      const still = adapters.find((a) => a.name === name);
      if (!still) {
        announce(`${name} is deleted.`);
        location.hash = "#/adapters";
        return;
      }
      show(still);
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    if (!controller.signal.aborted) timer = setTimeout(poll, POLL_MS);
  };
  const poll = async () => {
    if (deleting) return waitForDeletion();
    try {
      const adapter = await getJson(adapterPath(name), { signal: controller.signal });
      show(adapter);
      const ops = await getJson(`${adapterPath(name)}/operations`, { signal: controller.signal }).catch(() => null);
      const key = pretty(ops);
      if (ops && key !== seen.ops) {
        seen.ops = key;
        replace(operations, operationsTable(ops));
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) {
        replace(main, h("h1", { text: "Not found" }), h("p", { text: `There is no adapter ${name}, or you may not see it.` }), h("a", { href: "#/adapters", text: "See the adapters" }));
        return;
      }
      announce(`Could not read ${name}: ${error.message}`, "error");
    }
    if (!controller.signal.aborted) timer = setTimeout(poll, POLL_MS);
  };
  poll();
  return () => {
    controller.abort();
    clearTimeout(timer);
    logs?.stop();
  };
}
