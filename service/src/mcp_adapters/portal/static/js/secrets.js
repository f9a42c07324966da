// Which variables the form treats as secret: a close copy of the service's rule (mcp_infra.secrets), so that
// a value is typed into a password field before the service ever sees it. The service decides for real.

export const REDACTED = "<redacted>";
export const HIDDEN = "<hidden: typed in the form>";

const FRAGMENTS = [
  "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "APIKEY", "API_KEY", "ACCESS_KEY",
  "ACCESSKEY", "PRIVATE", "AUTHORIZATION", "BEARER", "COOKIE", "SESSION", "WEBHOOK", "SIGNATURE", "CERTIFICATE",
  "CONNECTION_STRING", "CONNECTIONSTRING",
];
const PARTS = new Set([
  "PASS", "PWD", "KEY", "KEYS", "PAT", "AUTH", "OAUTH", "JWT", "CERT", "DSN", "SAS", "SIG", "CRED", "CREDS", "PIN",
]);
const LOCATION_SUFFIXES = ["_FILE", "_PATH", "_DIR", "_NAME", "_TOKEN_CREDENTIALS"];
const ADDRESS_SUFFIXES = ["_URL", "_URI", "_ENDPOINT", "_HOST", "_AUTHORITY"];
const IDENTITY_WORDS = new Set(["TOKEN", "AUTH", "OAUTH", "AUTHORIZATION", "KEY", "CERT", "CERTIFICATE"]);
const SECRET_VALUE = [
  /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]+:[^\s/?#@]+@/i,
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/,
  /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\./,
  /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})/,
  /(?:^|[;\s])(?:password|pwd|accountkey|sharedaccesskey|client_?secret)\s*=\s*[^\s;]/i,
];

function secretWords(upper) {
  const words = new Set(FRAGMENTS.filter((fragment) => upper.includes(fragment)));
  for (const part of upper.split("_")) if (PARTS.has(part)) words.add(part);
  return words;
}

export function looksSecretName(name) {
  const upper = String(name).toUpperCase();
  if (LOCATION_SUFFIXES.some((suffix) => upper.endsWith(suffix))) return false;
  const words = secretWords(upper);
  if (ADDRESS_SUFFIXES.some((suffix) => upper.endsWith(suffix))) return [...words].some((w) => !IDENTITY_WORDS.has(w));
  return words.size > 0;
}

export function looksSecret(name, value) {
  if (value === REDACTED || value === HIDDEN) return true;
  if (SECRET_VALUE.some((pattern) => pattern.test(String(value)))) return true;
  return looksSecretName(name) && !["true", "false"].includes(String(value).toLowerCase());
}
