// Who the portal acts as: the development switcher's choice (X-Dev-* headers) or an Entra ID access token
// (authorization code + PKCE, public client). Kept in sessionStorage only: gone with the tab.

const DEV_KEY = "mcp-portal.dev-identity";
const TOKEN_KEY = "mcp-portal.token";
const PKCE_KEY = "mcp-portal.pkce";

let config = null;
const listeners = new Set();

export function configure(portalConfig) {
  config = portalConfig;
}

export function portalConfig() {
  return config;
}

export function onIdentityChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

function readJson(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

// --- development mode -------------------------------------------------------------------------

/** The switcher's choice, or null for the service's default identity. */
export function devChoice() {
  return readJson(DEV_KEY);
}

export function chooseDevIdentity(choice) {
  if (choice) sessionStorage.setItem(DEV_KEY, JSON.stringify(choice));
  else sessionStorage.removeItem(DEV_KEY);
  changed();
}

// --- Entra ID ----------------------------------------------------------------------------------

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

async function openidConfiguration() {
  const authority = config.entra.authority.replace(/\/+$/, "");
  const response = await fetch(`${authority}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the sign-in service answered ${response.status}`);
  return response.json();
}

function scopes() {
  return ["openid", "profile", ...(config.entra.scopes || [])].join(" ");
}

export function token() {
  const stored = readJson(TOKEN_KEY);
  if (!stored || stored.expiresAt <= Date.now()) return null;
  return stored;
}

export async function signIn() {
  if (!config.entra?.clientId) {
    throw new Error("the portal has no client id: the operator sets MCP_ADAPTERS_PORTAL_CLIENT_ID");
  }
  const meta = await openidConfiguration();
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, route: location.hash }));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.entra.clientId,
    response_type: "code",
    response_mode: "query",
    redirect_uri: config.entra.redirectUri,
    scope: scopes(),
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  }).toString();
  location.assign(url.toString());
}

/** Finish a sign-in when the authorization server sent the browser back with a code. */
export async function completeSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return null;
  const pending = readJson(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname + (pending?.route || "#/adapters"));
  if (query.has("error")) throw new Error(`sign-in failed: ${query.get("error_description") || query.get("error")}`);
  if (!pending || pending.state !== query.get("state")) throw new Error("sign-in failed: the answer does not match");
  const meta = await openidConfiguration();
  const response = await fetch(meta.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.entra.clientId,
      code: query.get("code"),
      redirect_uri: config.entra.redirectUri,
      code_verifier: pending.verifier,
      scope: scopes(),
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new Error(`sign-in failed: ${answer.error_description || answer.error || response.status}`);
  }
  const expiresAt = Date.now() + (Number(answer.expires_in) || 3600) * 1000 - 30_000;
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ accessToken: answer.access_token, expiresAt }));
  changed();
  return true;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  changed();
}

// --- both --------------------------------------------------------------------------------------

export function isEntra() {
  return config?.auth === "entra";
}

/** The headers that say who is calling, for the API and the data plane alike. */
export function identityHeaders() {
  if (isEntra()) {
    const current = token();
    return current ? { Authorization: `Bearer ${current.accessToken}` } : {};
  }
  const choice = devChoice();
  if (!choice) return {};
  const headers = { "X-Dev-UserId": choice.id };
  if (choice.roles.length) headers["X-Dev-Roles"] = choice.roles.join(",");
  return headers;
}

/** {id, roles, name} of the caller as the service will see it, or null when signed out. */
export function currentUser() {
  if (isEntra()) {
    const current = token();
    if (!current) return null;
    const claims = claimsOf(current.accessToken);
    const id = claims.oid || claims.sub || "";
    return { id, roles: claims.roles || [], name: claims.name || claims.preferred_username || id };
  }
  const choice = devChoice() || config?.user || { id: "dev", roles: [] };
  return { id: choice.id, roles: choice.roles || [], name: choice.id };
}

export function isAdmin() {
  const user = currentUser();
  return Boolean(user && user.roles.includes(config?.adminRole || "mcp.admin"));
}

/** Whether the caller may change or delete this adapter (admin or creator), as the service decides. */
export function canChange(adapter) {
  const user = currentUser();
  return Boolean(user && (isAdmin() || adapter.createdBy === user.id));
}

export function mayUseWorkloadIdentity() {
  const user = currentUser();
  const allowed = config?.workloadIdentityRoles || [];
  return Boolean(user && user.roles.some((role) => allowed.includes(role)));
}
