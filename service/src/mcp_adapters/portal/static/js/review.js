// The review of a dry run: planned resources and their steps, the change summary, policy findings and the
// rendered objects, then Apply (refused, and saying why, when a mandatory finding would refuse the change).

import { h, pretty } from "./dom.js";

function resourcesTable(resources, caption) {
  if (!resources.length) return h("p", { class: "muted", text: `${caption}: none.` });
  return h(
    "table",
    { class: "plan" },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, ["Step", "Type", "Name"].map((t) => h("th", { scope: "col", text: t })))),
    h(
      "tbody",
      {},
      resources.map((r) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Step" }, h("span", { class: `step step-${r.op || "run"}`, text: r.op || "run" })),
          h("td", { "data-label": "Type", text: r.type }),
          h("td", { "data-label": "Name", text: r.name }),
        ),
      ),
    ),
  );
}

function findingsList(findings) {
  if (!findings.length) return h("p", { class: "ok", text: "No policy findings." });
  return h(
    "ul",
    { class: "findings" },
    findings.map((f) =>
      h(
        "li",
        { class: `finding finding-${f.enforcement}` },
        h("span", { class: "severity", text: f.enforcement }),
        " ",
        h("strong", { text: f.policy }),
        " on ",
        h("code", { text: f.resource }),
        ": ",
        h("span", { text: f.message }),
      ),
    ),
  );
}

function summaryOf(preview) {
  const counts = preview.changeSummary;
  const parts = counts ? Object.entries(counts).map(([step, n]) => `${n} to ${step}`) : [];
  const verb = { create: "Create", update: "Update", none: "No change to" }[preview.change] || preview.change;
  return `${verb} adapter ${preview.adapter?.name ?? ""} on the ${preview.target} target` + (parts.length ? `: ${parts.join(", ")}` : "");
}

/** The review section; `onApply` runs when the reviewer presses Apply. */
export function renderReview(preview, onApply) {
  const mandatory = preview.findings.filter((f) => f.enforcement === "mandatory");
  const blocked = !preview.allowed || mandatory.length > 0;
  const apply = h("button", {
    type: "button",
    class: "primary",
    id: "apply",
    text: preview.change === "none" ? "Apply (nothing changes)" : "Apply",
    disabled: blocked,
    "aria-describedby": blocked ? "apply-blocked" : null,
    onclick: async () => {
      apply.disabled = true;
      try {
        await onApply();
      } finally {
        apply.disabled = blocked;
      }
    },
  });
  return h(
    "section",
    { class: "review", id: "review", "aria-labelledby": "review-title" },
    h("h2", { id: "review-title", text: "Review" }),
    h("p", { class: "change-summary", id: "change-summary", text: summaryOf(preview) }),
    h("h3", { text: "Planned resources" }),
    resourcesTable(preview.resources, "What the target would run"),
    h("h3", { text: "Policy findings" }),
    findingsList(preview.findings),
    h(
      "details",
      { class: "rendered" },
      h("summary", { text: `Rendered objects (${preview.rendered.length})` }),
      preview.rendered.map((r) =>
        h("details", {}, h("summary", {}, h("code", { text: `${r.type} ${r.name}` })), h("pre", { text: pretty(r.inputs) })),
      ),
    ),
    h("details", {}, h("summary", { text: "The adapter as it would be stored" }), h("pre", { text: pretty(preview.adapter) })),
    h(
      "div",
      { class: "actions" },
      apply,
      blocked
        ? h("p", {
            class: "blocked",
            id: "apply-blocked",
            text: `Apply is disabled: ${mandatory.map((f) => `${f.policy} (mandatory) says: ${f.message}`).join("; ") || "the service would refuse this change"}.`,
          })
        : null,
    ),
  );
}
