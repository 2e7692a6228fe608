// The UI's only way to the server: Postroom's public API, authenticated by the session cookie. Unsafe
// requests carry the session's CSRF token. API errors are kept verbatim so pages can show them as they are.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let csrfToken = "";
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string) {
  csrfToken = token;
}
// Called when any request answers 401: the session ended (expired, signed out elsewhere).
export function setSignedOutHandler(handler: (() => void) | null) {
  onSignedOut = handler;
}

// The message an API error body carries, word for word: {"error":"…"}, {"errors":"…"},
// {"errors":["…"]} or {"errors":{"field":["…"]}} (shown as "field …").
export function errorText(body: unknown, status: number): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const key of ["error", "errors", "message"]) {
      const v = b[key];
      if (typeof v === "string" && v) return v;
      if (Array.isArray(v) && v.length) return v.map(String).join("; ");
      if (v && typeof v === "object") {
        const parts: string[] = [];
        for (const [field, messages] of Object.entries(v as Record<string, unknown>)) {
          const list = Array.isArray(messages) ? messages : [messages];
          for (const m of list) parts.push(field === "base" ? String(m) : `${field} ${String(m)}`);
        }
        if (parts.length) return parts.join("; ");
      }
    }
  }
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 500);
  return `Request failed with status ${status}`;
}

export interface RequestOptions {
  body?: unknown; // JSON-encoded unless it is FormData or a string
  raw?: boolean; // resolve with the Response itself (downloads, text bodies)
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let body: BodyInit | undefined;
  if (options.body instanceof FormData || typeof options.body === "string") {
    body = options.body;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, { method, headers, body, credentials: "same-origin", signal: options.signal });
  if (!response.ok) {
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    if (response.status === 401 && onSignedOut && !path.startsWith("/api/session")) onSignedOut();
    throw new ApiError(response.status, errorText(parsed, response.status), parsed);
  }
  if (options.raw) return response as unknown as T;
  if (response.status === 204) return null as T;
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? await response.json() : await response.text()) as T;
}

export const api = {
  get: <T = any>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("POST", path, { ...options, body }),
  put: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PUT", path, { ...options, body }),
  patch: <T = any>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PATCH", path, { ...options, body }),
  del: <T = any>(path: string, options?: RequestOptions) => request<T>("DELETE", path, options),
};

// "/api/accounts/{current account}" + suffix.
let currentAccountId = 0;
export function setCurrentAccount(id: number) {
  currentAccountId = id;
}
export function accountPath(suffix: string): string {
  return `/api/accounts/${currentAccountId}${suffix}`;
}

// Query string from an object, skipping empty values; arrays repeat the key (`key[]=a&key[]=b` when the
// key already ends in []).
export function query(params: Record<string, string | number | boolean | undefined | null | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => q.append(k, item));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
