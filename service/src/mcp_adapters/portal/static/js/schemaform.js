// A form for a tool's arguments, generated from its inputSchema: strings, numbers, integers, booleans and
// enums get their own fields; anything else is edited as JSON.

import { field, h } from "./dom.js";

function simpleType(schema) {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string")) return "enum";
  let type = schema.type;
  const options = schema.anyOf || schema.oneOf;
  if (!type && Array.isArray(options)) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return simpleType(real[0]);
  }
  if (Array.isArray(type)) {
    const real = type.filter((t) => t !== "null");
    type = real.length === 1 ? real[0] : null;
  }
  return ["string", "number", "integer", "boolean"].includes(type) ? type : null;
}

function enumValues(schema) {
  if (Array.isArray(schema.enum)) return schema.enum;
  const option = (schema.anyOf || schema.oneOf || []).find((o) => Array.isArray(o.enum));
  return option ? option.enum : [];
}

function control(type, schema) {
  const initial = schema.default;
  if (type === "enum") {
    return h("select", {}, h("option", { value: "", text: "(not set)" }), enumValues(schema).map((v) => h("option", { value: v, text: v, selected: v === initial })));
  }
  if (type === "boolean") return h("input", { type: "checkbox", checked: initial === true });
  if (type === "number" || type === "integer") {
    return h("input", { type: "number", step: type === "integer" ? "1" : "any", value: initial !== undefined ? String(initial) : "" });
  }
  return h("input", { type: "text", value: initial !== undefined ? String(initial) : "", autocomplete: "off", spellcheck: "false" });
}

/** {element, read()} where read() gives {args} or {errors: [text]}. */
export function argumentsForm(schema) {
  const properties = schema?.properties || {};
  const required = new Set(schema?.required || []);
  const names = Object.keys(properties);
  const readers = [];
  const fields = [];
  for (const name of names) {
    const prop = properties[name];
    const type = simpleType(prop);
    const id = `arg-${name}`;
    const label = `${name}${required.has(name) ? " (required)" : ""}${type ? ` · ${type}` : " · JSON"}`;
    if (type === "boolean") {
      const box = control(type, prop);
      box.id = id;
      fields.push(h("div", { class: "field check" }, box, h("label", { for: id, text: label }), prop.description ? h("p", { class: "hint", text: prop.description }) : null));
      readers.push(() => [name, box.checked]);
      continue;
    }
    const input = type ? control(type, prop) : h("textarea", { rows: 3, class: "code", spellcheck: "false", value: prop.default !== undefined ? JSON.stringify(prop.default) : "" });
    fields.push(field(id, label, input, prop.description));
    readers.push(() => {
      const raw = input.value;
      if (raw === "") {
        if (required.has(name)) throw new Error(`${name} is required`);
        return null;
      }
      if (type === "integer" || type === "number") {
        const number = Number(raw);
        if (!Number.isFinite(number) || (type === "integer" && !Number.isInteger(number))) throw new Error(`${name} must be ${type === "integer" ? "a whole number" : "a number"}`);
        return [name, number];
      }
      if (!type) {
        try {
          return [name, JSON.parse(raw)];
        } catch (error) {
          throw new Error(`${name} is not valid JSON: ${error.message}`);
        }
      }
      return [name, raw];
    });
  }
  const raw = h("textarea", { rows: 6, class: "code", spellcheck: "false", value: "{}" });
  const useRaw = h("input", { type: "checkbox", id: "args-as-json", checked: names.length === 0 });
  const rawField = field("args-json", "Arguments as JSON", raw);
  const formFields = h("div", { class: "arg-fields" }, fields);
  const sync = () => {
    rawField.hidden = !useRaw.checked;
    formFields.hidden = useRaw.checked;
  };
  useRaw.addEventListener("change", sync);
  sync();
  const element = h("div", { class: "arguments" }, formFields, h("div", { class: "field check" }, useRaw, h("label", { for: "args-as-json", text: "Edit the arguments as JSON" })), rawField);
  const read = () => {
    try {
      if (useRaw.checked) {
        const args = JSON.parse(raw.value || "{}");
        if (!args || typeof args !== "object" || Array.isArray(args)) throw new Error("the arguments must be a JSON object");
        return { args };
      }
      return { args: Object.fromEntries(readers.map((r) => r()).filter(Boolean)) };
    } catch (error) {
      return { errors: [error.message] };
    }
  };
  return { element, read };
}
