// A hash router: the server serves one page, so "#/sandbox/3/messages/42/html" survives reloads without any
// server-side route. `useRoute()` re-renders on navigation; `match()` reads parameters from a pattern.
import { useEffect, useState } from "preact/hooks";

export function currentPath(): string {
  const hash = window.location.hash.replace(/^#/, "");
  return hash.startsWith("/") ? hash : "/";
}

export function navigate(path: string, options: { replace?: boolean } = {}) {
  const target = `#${path}`;
  if (window.location.hash === target) return;
  if (options.replace) {
    history.replaceState(null, "", target);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = target;
  }
}

export function useRoute(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return path;
}

// match("/sandbox/:inbox/messages/:message", "/sandbox/3/messages/42") → {inbox:"3", message:"42"}; a pattern
// ending in "/*" also matches longer paths (the rest lands in params["*"]). Null when it does not match.
export function match(pattern: string, path: string): Record<string, string> | null {
  const [pathOnly] = path.split("?");
  const p = pattern.split("/").filter(Boolean);
  const s = pathOnly.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "*") {
      params["*"] = s.slice(i).join("/");
      return params;
    }
    if (i >= s.length) return null;
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return s.length === p.length ? params : null;
}

// The "?a=b" part of the hash route, for pages that keep filters in the URL.
export function routeQuery(path: string): URLSearchParams {
  const i = path.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : path.slice(i + 1));
}
