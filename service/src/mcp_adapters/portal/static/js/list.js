// The adapters the caller may see, updated in place every two seconds.

import { getJson } from "./api.js";
import { announce, field, h, phaseBadge, replace, setText } from "./dom.js";

const POLL_MS = 2000;

function rowFor(adapter) {
  const cells = {
    name: h("a", { href: `#/adapters/${adapter.name}` }),
    phase: h("span", {}),
    replicas: h("span", {}),
    generation: h("span", {}),
    endpoint: h("code", {}),
    owner: h("span", {}),
  };
  const labelled = (label, content) => h("td", { "data-label": label }, content);
  const tr = h(
    "tr",
    { "data-name": adapter.name },
    h("th", { scope: "row", "data-label": "Name" }, cells.name),
    labelled("Phase", cells.phase),
    labelled("Ready / desired", cells.replicas),
    labelled("Generation", cells.generation),
    labelled("Endpoint", cells.endpoint),
    labelled("Owner", cells.owner),
  );
  return { tr, cells };
}

function update(row, adapter) {
  const status = adapter.status || {};
  const replicas = status.replicas || {};
  setText(row.cells.name, adapter.name);
  if (row.cells.phase.textContent !== status.phase) replace(row.cells.phase, phaseBadge(status.phase));
  setText(row.cells.replicas, `${replicas.ready ?? 0} / ${replicas.desired ?? adapter.replicaCount}`);
  const observed = status.observedGeneration ?? 0;
  setText(
    row.cells.generation,
    observed === adapter.generation ? `${adapter.generation}` : `${observed} → ${adapter.generation} (converging)`,
  );
  setText(row.cells.endpoint, status.endpoint || "");
  setText(row.cells.owner, adapter.createdBy);
  row.search = [adapter.name, adapter.description, adapter.createdBy, status.phase].join(" ").toLowerCase();
}

export function mountList(main) {
  const rows = new Map();
  const filter = h("input", { type: "search", placeholder: "name, owner, phase…", autocomplete: "off" });
  const tbody = h("tbody", {});
  const table = h(
    "table",
    { class: "adapters", id: "adapters-table" },
    h("caption", { class: "visually-hidden", text: "Adapters" }),
    h(
      "thead",
      {},
      h("tr", {}, ["Name", "Phase", "Ready / desired", "Generation", "Endpoint", "Owner"].map((t) => h("th", { scope: "col", text: t }))),
    ),
    tbody,
  );
  const empty = h(
    "p",
    { class: "empty", id: "empty-state", hidden: true },
    "No adapters yet: ",
    h("a", { href: "#/new", text: "create one from an example" }),
    ".",
  );
  const noMatch = h("p", { class: "muted", hidden: true, text: "No adapter matches the filter." });
  replace(
    main,
    h("div", { class: "view-head" }, h("h1", { text: "Adapters" }), h("a", { class: "button", href: "#/new", text: "New adapter" })),
    h("div", { class: "filter" }, field("adapter-filter", "Filter", filter)),
    h("div", { class: "table-wrap" }, table),
    empty,
    noMatch,
  );

  const applyFilter = () => {
    const text = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows.values()) {
      row.tr.hidden = Boolean(text) && !row.search.includes(text);
      if (!row.tr.hidden) shown += 1;
    }
    table.hidden = rows.size === 0;
    empty.hidden = rows.size !== 0;
    noMatch.hidden = rows.size === 0 || shown !== 0;
  };
  filter.addEventListener("input", applyFilter);

  let stopped = false;
  let timer = null;
  let failing = false;
  const controller = new AbortController();
  const poll = async () => {
    try {
      const adapters = await getJson("/adapters", { signal: controller.signal });
      const seen = new Set();
      for (const adapter of adapters) {
        seen.add(adapter.name);
        let row = rows.get(adapter.name);
        if (!row) {
          row = rowFor(adapter);
          rows.set(adapter.name, row);
        }
        update(row, adapter);
      }
      for (const [name, row] of rows) {
        if (!seen.has(name)) {
          row.tr.remove();
          rows.delete(name);
        }
      }
      // Rows in name order. Walk the live rows once: inserting a row where it belongs costs one step, not a
      // lookup in a live collection that every insertion invalidates (the first view inserts them all).
      const ordered = [...rows.keys()].sort();
      let cursor = tbody.firstElementChild;
      const fresh = document.createDocumentFragment();
      for (const name of ordered) {
        const tr = rows.get(name).tr;
        if (tr === cursor) {
          cursor = cursor.nextElementSibling;
        } else if (cursor === null) {
          fresh.append(tr); // everything after the last row in place goes in together, with one layout
        } else {
          tbody.insertBefore(tr, cursor);
        }
      }
      tbody.append(fresh);
      applyFilter();
      main.dataset.loaded = "true";
      if (failing) announce("Connected again");
      failing = false;
    } catch (error) {
      if (stopped) return;
      if (!failing) announce(`Could not list the adapters: ${error.message}`, "error");
      failing = true;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  table.hidden = true;
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller.abort();
  };
}
