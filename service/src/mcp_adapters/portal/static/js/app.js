// The portal: hash routes, one view mounted at a time; each view returns a cleanup that stops its polling
// and aborts its streams.

import { announce, h, replace } from "./dom.js";
import * as identity from "./identity.js";
import { renderWhoami } from "./whoami.js";
import { mountList } from "./list.js";
import { mountEditor } from "./editor.js";
import { mountDetail } from "./detail.js";
import { mountConsole } from "./console.js";

const ROUTES = [
  [/^#\/adapters\/?$/, (main) => mountList(main)],
  [/^#\/new(?:\/([a-z0-9-]+))?$/, (main, template) => mountEditor(main, { template })],
  [/^#\/adapters\/([a-z0-9-]+)\/edit$/, (main, name) => mountEditor(main, { name })],
  [/^#\/adapters\/([a-z0-9-]+)\/console$/, (main, name) => mountConsole(main, name)],
  [/^#\/adapters\/([a-z0-9-]+)$/, (main, name) => mountDetail(main, name)],
];

let cleanup = null;

function route() {
  const main = document.getElementById("main");
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash || "#/adapters";
  if (identity.isEntra() && !identity.currentUser()) {
    replace(
      main,
      h("h1", { text: "Sign in" }),
      h("p", { text: "The portal acts as you: sign in with your organisation's account to see and manage your adapters." }),
      h("button", { type: "button", class: "primary", id: "sign-in-main", text: "Sign in", onclick: signIn }),
    );
    return;
  }
  for (const [pattern, mount] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      cleanup = mount(main, ...match.slice(1)) || null;
      markCurrentNav(hash);
      focusHeading(main);
      return;
    }
  }
  replace(main, h("h1", { text: "Not found" }), h("p", {}, "Nothing here. ", h("a", { href: "#/adapters", text: "See the adapters" })));
}

function signIn() {
  identity.signIn().catch((error) => announce(`Could not start the sign-in: ${error.message}`, "error"));
}

let firstRoute = true;

// After a navigation, move focus to the new view's heading so keyboard and screen reader users follow it.
function focusHeading(main) {
  const heading = main.querySelector("h1");
  if (!heading) return;
  heading.setAttribute("tabindex", "-1");
  if (!firstRoute) heading.focus({ preventScroll: false });
  firstRoute = false;
}

function markCurrentNav(hash) {
  for (const link of document.querySelectorAll(".top nav a")) {
    if (hash.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function start() {
  let config;
  try {
    config = await (await fetch("/portal/config", { cache: "no-store" })).json();
  } catch (error) {
    announce(`The portal could not load its settings: ${error.message}`, "error");
    return;
  }
  identity.configure(config);
  const whoami = document.getElementById("whoami");
  if (identity.isEntra()) {
    try {
      await identity.completeSignIn();
    } catch (error) {
      announce(error.message, "error");
    }
  }
  renderWhoami(whoami);
  identity.onIdentityChange(() => {
    renderWhoami(whoami);
    route();
  });
  if (!location.hash) history.replaceState(null, "", "#/adapters");
  window.addEventListener("hashchange", route);
  route();
}

start();
