// Create or edit an adapter: a form and a JSON text kept in sync, checked here first, reviewed with a dry
// run, then applied.

import { adapterPath, ApiError, getJson, sendJson } from "./api.js";
import { announce, field, h, pretty, replace } from "./dom.js";
import * as identity from "./identity.js";
import { renderReview } from "./review.js";
import { envEditor } from "./envrows.js";
import { HIDDEN } from "./secrets.js";

const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SPEC_FIELDS = [
  "name", "imageName", "imageVersion", "environmentVariables", "secretEnvironmentVariables", "replicaCount",
  "description", "useWorkloadIdentity", "requiredRoles",
];
const SERVER_MANAGED = ["createdBy", "createdAt", "lastUpdatedAt", "generation", "status"];
const BLANK = { name: "", imageName: "mcp-proxy", imageVersion: "1.0.0", environmentVariables: {}, replicaCount: 1 };

function specOf(adapter) {
  const spec = {};
  for (const key of SPEC_FIELDS) if (adapter[key] !== undefined) spec[key] = structuredClone(adapter[key]);
  return spec;
}

export function mountEditor(main, { name, template }) {
  const editing = Boolean(name);
  const state = { draft: structuredClone(BLANK), secrets: new Map(), reviewed: false };
  const controller = new AbortController();

  const inputs = {
    name: h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true, maxlength: "63", disabled: editing }),
    imageName: h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true }),
    imageVersion: h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true }),
    replicaCount: h("input", { type: "number", min: "1", step: "1", required: true }),
    description: h("textarea", { rows: 2 }),
    requiredRoles: h("input", { type: "text", autocomplete: "off", spellcheck: "false" }),
    useWorkloadIdentity: h("input", { type: "checkbox" }),
  };
  const envRows = envEditor(() => formChanged());
  const envError = h("p", { class: "field-error", id: "environmentVariables-error", "aria-live": "polite" });
  const formErrors = h("div", { class: "form-errors", id: "form-errors", role: "alert" });
  const json = h("textarea", { id: "spec-json", rows: 18, spellcheck: "false", class: "code", "aria-describedby": "spec-json-error" });
  const jsonError = h("p", { class: "field-error", id: "spec-json-error", "aria-live": "polite" });
  const reviewSlot = h("div", { id: "review-slot" });
  const templateSelect = h("select", {}, h("option", { value: "", text: "Blank" }));

  // form -> draft (secrets typed in the form stay out of the JSON text)
  const readForm = () => {
    const { env, marked } = envRows.read(state.secrets);
    const draft = {
      ...state.draft,
      name: inputs.name.value.trim(),
      imageName: inputs.imageName.value.trim(),
      imageVersion: inputs.imageVersion.value.trim(),
      environmentVariables: env,
      replicaCount: inputs.replicaCount.value === "" ? null : Number(inputs.replicaCount.value),
      description: inputs.description.value,
      requiredRoles: inputs.requiredRoles.value.split(",").map((r) => r.trim()).filter(Boolean),
      useWorkloadIdentity: inputs.useWorkloadIdentity.checked,
    };
    if (marked.length) draft.secretEnvironmentVariables = marked;
    else delete draft.secretEnvironmentVariables;
    state.draft = draft;
  };

  // draft -> form
  const fillForm = () => {
    const d = state.draft;
    inputs.name.value = d.name ?? "";
    inputs.imageName.value = d.imageName ?? "";
    inputs.imageVersion.value = d.imageVersion ?? "";
    inputs.replicaCount.value = d.replicaCount ?? 1;
    inputs.description.value = d.description ?? "";
    inputs.requiredRoles.value = (d.requiredRoles || []).join(", ");
    inputs.useWorkloadIdentity.checked = Boolean(d.useWorkloadIdentity);
    envRows.fill(d.environmentVariables, new Set(d.secretEnvironmentVariables || []), state.secrets);
  };

  const fillJson = () => {
    json.value = pretty(state.draft);
    jsonError.textContent = "";
    state.jsonInvalid = false;
  };

  const invalidateReview = () => {
    if (state.reviewed) announce("The adapter changed since the review: review it again before applying.");
    state.reviewed = false;
    reviewSlot.replaceChildren();
  };

  function formChanged() {
    readForm();
    fillJson();
    invalidateReview();
  }

  json.addEventListener("input", () => {
    let parsed;
    try {
      parsed = JSON.parse(json.value);
    } catch (error) {
      jsonError.textContent = `Not valid JSON yet: ${error.message}`;
      state.jsonInvalid = true;
      invalidateReview();
      return;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      jsonError.textContent = "The adapter must be a JSON object.";
      state.jsonInvalid = true;
      return;
    }
    state.jsonInvalid = false;
    const managed = SERVER_MANAGED.filter((key) => key in parsed);
    for (const key of managed) delete parsed[key];
    jsonError.textContent = managed.length ? `Left out what the server manages: ${managed.join(", ")}.` : "";
    state.draft = parsed;
    fillForm();
    invalidateReview();
  });

  // -- validation ---------------------------------------------------------------------------------
  const errorSlot = (key) => main.querySelector(`#${key}-error`) || (key.startsWith("environmentVariables") ? envError : null);
  const clearErrors = () => {
    for (const slot of main.querySelectorAll(".field-error")) if (slot !== jsonError) slot.textContent = "";
    for (const control of main.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    formErrors.replaceChildren();
  };
  const showError = (key, message) => {
    const top = String(key).split(".")[0];
    const slot = SPEC_FIELDS.includes(top) ? errorSlot(top === "secretEnvironmentVariables" ? "environmentVariables" : top) : null;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
      inputs[top]?.setAttribute("aria-invalid", "true");
    } else {
      formErrors.append(h("p", { text: key ? `${key}: ${message}` : message }));
    }
  };

  const validate = () => {
    clearErrors();
    const d = state.draft;
    const problems = [];
    if (!d.name) problems.push(["name", "A name is required."]);
    else if (d.name.length > 63) problems.push(["name", "At most 63 characters."]);
    else if (!NAME.test(d.name)) problems.push(["name", "Lowercase letters, digits and '-', starting with a letter and not ending with '-'."]);
    if (!d.imageName) problems.push(["imageName", "An image name is required (e.g. mcp-proxy)."]);
    if (!d.imageVersion) problems.push(["imageVersion", "An image version is required (e.g. 1.0.0)."]);
    if (!Number.isInteger(d.replicaCount) || d.replicaCount < 1) problems.push(["replicaCount", "A whole number, at least 1."]);
    const env = d.environmentVariables || {};
    for (const [key, value] of Object.entries(env)) {
      if (!ENV_NAME.test(key)) problems.push(["environmentVariables", `${key || "(empty)"}: letters, digits and '_', not starting with a digit.`]);
      if (value === HIDDEN && !state.secrets.has(key)) problems.push(["environmentVariables", `${key}: type its value in the form.`]);
    }
    const names = envRows.names();
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length) problems.push(["environmentVariables", `Set each variable once: ${[...new Set(dupes)].join(", ")}.`]);
    if (state.jsonInvalid) problems.push(["", "The JSON text is not valid: fix it or switch back to the form."]);
    for (const [key, message] of problems) showError(key, message);
    return problems.length === 0;
  };

  const payload = () => {
    const body = structuredClone(state.draft);
    const env = body.environmentVariables || {};
    for (const key of Object.keys(env)) if (env[key] === HIDDEN) env[key] = state.secrets.get(key) ?? "";
    return body;
  };

  const showApiError = (error) => {
    if (!(error instanceof ApiError)) {
      announce(`The service could not be reached: ${error.message}`, "error");
      return;
    }
    announce(error.message, "error");
    formErrors.append(h("p", { class: "problem-detail", text: error.message }));
    for (const item of error.errors) showError(item.field ?? item.rule ?? "", item.message ?? "");
  };

  const target = () => (editing ? adapterPath(name) : "/adapters");
  const method = editing ? "PUT" : "POST";

  const review = async (event) => {
    event.preventDefault();
    readForm();
    if (!validate()) {
      announce("Some fields need a fix before the review.", "error");
      main.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    reviewSlot.replaceChildren(h("p", { class: "muted", text: "Asking the service for a dry run…" }));
    let preview;
    try {
      preview = await sendJson(method, `${target()}?dryRun=true`, payload());
    } catch (error) {
      reviewSlot.replaceChildren();
      showApiError(error);
      return;
    }
    state.reviewed = true;
    replace(reviewSlot, renderReview(preview, apply));
    reviewSlot.querySelector("h2").setAttribute("tabindex", "-1");
    reviewSlot.querySelector("h2").focus();
    announce("Review ready: check the plan, then apply.");
  };

  const apply = async () => {
    const body = payload();
    try {
      await sendJson(method, target(), body);
    } catch (error) {
      showApiError(error);
      return;
    }
    announce(editing ? `Applied the change to ${body.name}.` : `Created ${body.name}.`);
    location.hash = `#/adapters/${body.name}`;
  };

  // -- layout ---------------------------------------------------------------------------------------
  const formPanel = h(
    "div",
    { id: "panel-form", role: "tabpanel", "aria-labelledby": "tab-form" },
    field("name", "Name", inputs.name, editing ? "Adapters cannot be renamed." : "A DNS label: lowercase letters, digits and '-', at most 63."),
    h("div", { class: "row2" }, field("imageName", "Image", inputs.imageName), field("imageVersion", "Version", inputs.imageVersion)),
    field("replicaCount", "Replicas", inputs.replicaCount),
    field("description", "Description", inputs.description),
    field("requiredRoles", "Required roles", inputs.requiredRoles, "App roles allowed to read and call it, comma-separated."),
    h(
      "div",
      { class: "field check" },
      inputs.useWorkloadIdentity,
      h("label", { for: "useWorkloadIdentity", text: "Use workload identity" }),
      h("p", {
        class: "hint",
        id: "useWorkloadIdentity-hint",
        text: identity.mayUseWorkloadIdentity()
          ? "Gives the adapter its own Azure identity."
          : `Only ${(identity.portalConfig()?.workloadIdentityRoles || []).join(", ") || "some roles"} may set this.`,
      }),
      h("p", { class: "field-error", id: "useWorkloadIdentity-error" }),
    ),
    h(
      "fieldset",
      { class: "env" },
      h("legend", { text: "Environment variables" }),
      h("p", { class: "hint", text: "MCP_COMMAND + MCP_ARGS bridge a stdio server; MCP_PROXY_URL forwards to a remote one. Secret values go in password fields and are never shown back." }),
      envRows.element,
      envError,
      h("button", { type: "button", id: "add-env", text: "Add variable", onclick: () => envRows.add().querySelector(".env-name").focus() }),
    ),
  );
  inputs.useWorkloadIdentity.id = "useWorkloadIdentity";
  inputs.useWorkloadIdentity.setAttribute("aria-describedby", "useWorkloadIdentity-hint useWorkloadIdentity-error");
  const jsonPanel = h(
    "div",
    { id: "panel-json", role: "tabpanel", "aria-labelledby": "tab-json", hidden: true },
    h("label", { for: "spec-json", text: "Adapter JSON" }),
    json,
    jsonError,
  );
  const tabs = [
    h("button", { type: "button", role: "tab", id: "tab-form", "aria-controls": "panel-form", "aria-selected": "true", text: "Form" }),
    h("button", { type: "button", role: "tab", id: "tab-json", "aria-controls": "panel-json", "aria-selected": "false", tabindex: "-1", text: "JSON" }),
  ];
  const select = (index) => {
    tabs.forEach((tab, i) => {
      tab.setAttribute("aria-selected", String(i === index));
      tab.tabIndex = i === index ? 0 : -1;
    });
    formPanel.hidden = index !== 0;
    jsonPanel.hidden = index !== 1;
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(i));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = (i + 1) % 2;
      select(next);
      tabs[next].focus();
    });
  });

  const form = h(
    "form",
    { class: "editor", novalidate: true, onsubmit: review, oninput: (e) => (e.target !== json ? formChanged() : null), onchange: (e) => (e.target !== json && e.target !== templateSelect ? formChanged() : null) },
    editing ? null : h("div", { class: "field template" }, h("label", { for: "template", text: "Start from" }), templateSelect),
    h("div", { role: "tablist", "aria-label": "Edit as", class: "tabs" }, tabs),
    formPanel,
    jsonPanel,
    formErrors,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "review-button", text: "Review" }), h("a", { href: editing ? `#/adapters/${name}` : "#/adapters", text: "Cancel" })),
  );
  templateSelect.id = "template";
  replace(main, h("h1", { text: editing ? `Edit ${name}` : "New adapter" }), form, reviewSlot);
  fillForm();
  fillJson();

  if (editing) {
    getJson(adapterPath(name), { signal: controller.signal })
      .then((adapter) => {
        if (!identity.canChange(adapter)) {
          replace(main, h("h1", { text: `Edit ${name}` }), h("p", { text: "You may use this adapter but not change it: only its creator and admins may." }));
          return;
        }
        state.draft = specOf(adapter);
        fillForm();
        fillJson();
      })
      .catch((error) => !controller.signal.aborted && showApiError(error));
  } else {
    getJson("/portal/templates", { signal: controller.signal })
      .then((templates) => {
        const byId = new Map(templates.map((t) => [t.id, t]));
        for (const t of templates) templateSelect.append(h("option", { value: t.id, text: t.title || t.id }));
        const use = (id) => {
          const chosen = byId.get(id);
          state.draft = chosen ? specOf(chosen.payload) : structuredClone(BLANK);
          state.secrets.clear();
          fillForm();
          fillJson();
          clearErrors();
          invalidateReview();
          if (chosen) announce(`Loaded the ${chosen.title || chosen.id} template${chosen.description ? `: ${chosen.description}` : ""}`);
        };
        templateSelect.addEventListener("change", () => use(templateSelect.value));
        if (template && byId.has(template)) {
          templateSelect.value = template;
          use(template);
        }
      })
      .catch((error) => !controller.signal.aborted && announce(`No templates: ${error.message}`, "error"));
  }
  return () => controller.abort();
}
