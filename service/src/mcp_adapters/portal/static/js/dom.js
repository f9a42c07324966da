// Build DOM from data without ever parsing it as HTML: every text goes through textContent.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "value" && el.tagName === "TEXTAREA") el.value = value; // a textarea has no value attribute
    else if (typeof value !== "string" && key in el) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Set text only when it changed, so live updates do not disturb selection or screen readers. */
export function setText(el, text) {
  const value = String(text ?? "");
  if (el.textContent !== value) el.textContent = value;
}

let statusTimer = null;

/** Say something in the aria-live status region. */
export function announce(message, kind = "info") {
  const region = document.getElementById("status");
  if (!region) return;
  region.dataset.kind = kind;
  region.textContent = message;
  clearTimeout(statusTimer);
  if (kind !== "error") statusTimer = setTimeout(() => (region.textContent = ""), 8000);
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function phaseBadge(phase) {
  return h("span", { class: `phase phase-${String(phase || "Unknown").toLowerCase()}`, text: phase || "Unknown" });
}

/** A labelled field: <label for> + control + an error slot the control is described by. */
export function field(id, labelText, control, hint) {
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: labelText }),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null,
    error,
  );
}
