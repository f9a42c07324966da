// The service's REST API, with the caller's identity on every request and problems as exceptions.

import { identityHeaders, isEntra, signOut, token } from "./identity.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `the service answered ${status}`);
    this.status = status;
    this.problem = problem;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      /* fall through */
    }
  }
  const text = await response.text().catch(() => "");
  return { status: response.status, detail: text.trim() || `the service answered ${response.status}` };
}

export async function request(method, path, { body, signal, accept = "application/json" } = {}) {
  const headers = { ...identityHeaders(), Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401 && isEntra() && token()) signOut(); // expired or refused: sign in again
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

export async function getJson(path, options) {
  return (await request("GET", path, options)).json();
}

export async function sendJson(method, path, body) {
  const response = await request(method, path, { body });
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : null;
}

export async function getText(path, options) {
  return (await request("GET", path, { ...options, accept: "text/plain" })).text();
}

export const adapterPath = (name) => `/adapters/${encodeURIComponent(name)}`;
