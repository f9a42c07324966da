// The "who am I" corner: a user/roles switcher in development mode, Sign in / Sign out with Entra ID.

import { announce, field, h, replace } from "./dom.js";
import * as identity from "./identity.js";

function presets(config) {
  const admin = config.user || { id: "dev", roles: [config.adminRole] };
  return [
    { label: "Admin", id: admin.id, roles: admin.roles },
    { label: "Another user", id: "another-user", roles: [] },
    { label: "Reader", id: "reader", roles: ["mcp.reader"] },
  ];
}

function roleList(text) {
  return text
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
}

function devSwitcher(root, config) {
  const user = identity.currentUser();
  const userInput = h("input", { type: "text", value: user.id, autocomplete: "off", spellcheck: "false" });
  const rolesInput = h("input", { type: "text", value: user.roles.join(", "), autocomplete: "off", spellcheck: "false" });
  const choose = (choice, label) => {
    identity.chooseDevIdentity(choice);
    announce(`Now acting as ${choice ? choice.id : "the default user"}${label ? ` (${label})` : ""}`);
  };
  const form = h(
    "form",
    {
      class: "dev-identity",
      onsubmit: (event) => {
        event.preventDefault();
        const id = userInput.value.trim();
        const roles = roleList(rolesInput.value);
        const userError = !id || /[\s,]/.test(id) ? "A user id without spaces or commas." : "";
        const rolesError = roles.some((role) => /\s/.test(role)) ? "Role names have no spaces: separate them with commas." : "";
        document.getElementById("dev-user-error").textContent = userError;
        document.getElementById("dev-roles-error").textContent = rolesError;
        if (userError || rolesError) return;
        choose({ id, roles });
      },
    },
    field("dev-user", "User", userInput),
    field("dev-roles", "Roles (comma-separated)", rolesInput),
    h("button", { type: "submit", text: "Act as" }),
  );
  const buttons = presets(config).map((preset) =>
    h("button", {
      type: "button",
      class: "preset",
      text: preset.label,
      "aria-pressed": String(user.id === preset.id && user.roles.join() === preset.roles.join()),
      onclick: () => choose({ id: preset.id, roles: preset.roles }, preset.label),
    }),
  );
  replace(
    root,
    h("details", { class: "identity-menu" },
      h("summary", {},
        h("span", { class: "mode", text: "development" }), " ",
        h("span", { id: "current-user", text: user.id }),
        h("span", { class: "muted", id: "current-roles", text: user.roles.length ? ` (${user.roles.join(", ")})` : " (no roles)" }),
      ),
      h("div", { class: "identity-body" },
        h("p", { class: "hint", text: "Development mode: the portal sends X-Dev-UserId / X-Dev-Roles." }),
        h("div", { class: "presets", role: "group", "aria-label": "Presets" }, buttons),
        form,
      ),
    ),
  );
}

function entraCorner(root) {
  const user = identity.currentUser();
  if (!user) {
    replace(root, h("button", {
      type: "button",
      text: "Sign in",
      onclick: () => identity.signIn().catch((error) => announce(`Could not start the sign-in: ${error.message}`, "error")),
    }));
    return;
  }
  replace(
    root,
    h("span", { id: "current-user", text: user.name }),
    h("span", { class: "muted", id: "current-roles", text: user.roles.length ? ` (${user.roles.join(", ")})` : "" }),
    h("button", {
      type: "button",
      text: "Sign out",
      onclick: () => {
        identity.signOut();
        announce("Signed out");
      },
    }),
  );
}

export function renderWhoami(root) {
  const config = identity.portalConfig();
  if (identity.isEntra()) entraCorner(root);
  else devSwitcher(root, config);
}
