// Helpers the Email Logs, Suppressions and Settings pages share.
import { useEffect, useRef } from "preact/hooks";
import { accountPath, api } from "../../lib/api";
import { navigate } from "../../lib/router";

export interface SendingDomain {
  id: number;
  domain_name: string;
  demo?: boolean;
}

export async function loadDomains(): Promise<SendingDomain[]> {
  const response = await api.get<{ data: SendingDomain[] }>(accountPath("/sending_domains"));
  return response.data ?? [];
}

// Replaces the route's query with `params` (empty values dropped), keeping the path: filters survive reloads.
export function setRouteQuery(base: string, params: Record<string, string>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  navigate(s ? `${base}?${s}` : base, { replace: true });
}

// "2026-11-23T09:00" (a datetime-local value, local time) → ISO 8601 in UTC; "" stays "".
export function localToIso(value: string): string {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const inputValue = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;

// A log's timestamp, to the second (formatDate stops at minutes, too coarse to tell events apart).
export function formatTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

// Runs `effect` when `value` changes after the first render (not on mount: Preact runs effects after paint,
// which would overwrite what the user typed in the meantime).
export function useOnChange<T>(value: T, effect: (value: T) => void) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    effect(value);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
}
