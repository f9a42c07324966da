// Environment variables as rows: a name, a value (a password field for secrets, which are never shown back:
// a stored secret comes as `<redacted>` and reads "•••• unchanged" until a new value is typed) and a Secret box.

import { field, h } from "./dom.js";
import { HIDDEN, looksSecret, looksSecretName, REDACTED } from "./secrets.js";

/** {element, add(key, value, marked, typed), fill(env, marked, typed), read(secrets), names()} */
export function envEditor(onChange) {
  const element = h("div", { class: "env-rows", id: "env-rows" });
  let counter = 0;

  const add = (key = "", value = "", marked = false, typed = new Map()) => {
    const i = counter++;
    const keep = value === REDACTED;
    const shown = value === HIDDEN ? typed.get(key) ?? "" : value;
    const nameInput = h("input", { type: "text", value: key, autocomplete: "off", spellcheck: "false", class: "env-name" });
    const valueInput = h("input", {
      type: "text",
      value: keep ? "" : shown,
      autocomplete: "off",
      spellcheck: "false",
      class: "env-value",
      placeholder: keep ? "•••• unchanged" : "",
    });
    const secretBox = h("input", { type: "checkbox", class: "env-secret", id: `env-secret-${i}`, checked: marked });
    const remove = () => {
      row.remove();
      onChange();
    };
    const row = h(
      "div",
      { class: "env-row" },
      field(`env-name-${i}`, "Variable", nameInput),
      field(`env-value-${i}`, "Value", valueInput),
      h("div", { class: "field check" }, secretBox, h("label", { for: `env-secret-${i}`, text: "Secret" })),
      h("button", { type: "button", class: "remove", text: "Remove", "aria-label": `Remove variable ${key || i + 1}`, onclick: remove }),
    );
    row.keep = keep;
    row.marked = marked; // listed in secretEnvironmentVariables: stays listed, or the value would lose its sealing
    const refresh = () => {
      const looks = row.keep || looksSecretName(nameInput.value) || looksSecret(nameInput.value, valueInput.value);
      secretBox.checked = secretBox.checked || looks;
      secretBox.disabled = looks;
      valueInput.type = secretBox.checked ? "password" : "text";
      if (secretBox.checked) valueInput.autocomplete = "new-password";
    };
    valueInput.addEventListener("input", () => {
      if (valueInput.value) row.keep = false;
      refresh();
    });
    nameInput.addEventListener("input", refresh);
    secretBox.addEventListener("change", refresh);
    refresh();
    element.append(row);
    return row;
  };

  const fill = (env, marked, typed) => {
    element.replaceChildren();
    for (const [key, value] of Object.entries(env || {})) add(key, String(value), marked.has(key), typed);
  };

  /** The variables, with typed secrets put in `secrets` and HIDDEN in their place; and the names to mark. */
  const read = (secrets) => {
    const env = {};
    const marked = [];
    secrets.clear();
    for (const row of element.querySelectorAll(".env-row")) {
      const key = row.querySelector(".env-name").value.trim();
      const value = row.querySelector(".env-value").value;
      const secret = row.querySelector(".env-secret");
      if (!key && !value) continue;
      if (row.keep && !value) env[key] = REDACTED;
      else if (secret.checked) {
        secrets.set(key, value);
        env[key] = HIDDEN;
      } else env[key] = value;
      if (row.marked || (secret.checked && !secret.disabled)) marked.push(key);
    }
    return { env, marked };
  };

  const names = () => [...element.querySelectorAll(".env-name")].map((input) => input.value.trim()).filter(Boolean);
  return { element, add, fill, read, names };
}
