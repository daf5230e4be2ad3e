// The API client: same origin, the bearer token from this tab's session only.
export const BASE = "/api/robots-db";
const KEY = "tonypi.console.token";

let token = sessionStorage.getItem(KEY);

export function setToken(value) {
  token = value || null;
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export function hasToken() {
  return Boolean(token);
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

function detailText(data) {
  if (data && typeof data === "object" && "detail" in data) {
    const { detail } = data;
    if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    return String(detail);
  }
  return typeof data === "string" && data ? data : "request failed";
}

/** The `rel="next"` address of a Link header, or null. */
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1];
  }
  return null;
}

/** A request; `path` is under BASE unless it starts with "/". Answers {status, data, next}. */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  let url = path.startsWith("/") ? path : `${BASE}/${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) v.forEach((item) => params.append(k, item));
      else if (v !== undefined && v !== null && v !== "") params.append(k, v);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const headers = authHeaders({ Accept: "application/json" });
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new ApiError(response.status, detailText(data));
  return { status: response.status, data, next: nextLink(response.headers.get("Link")) };
}

/** A read that may be missing on this server (an older replica): null on 404 of the route. */
export async function optional(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.detail === "Not Found") return null;
    throw error;
  }
}
