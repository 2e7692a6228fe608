// Live sandbox updates: one EventSource on the account's sandbox_events stream, shared by the page's parts.
// EventSource reconnects by itself after a dropped connection; when the server refuses the stream (it closes
// for good) we try again every few seconds and say so, rather than pretending to be live.
import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { accountPath } from "../../lib/api";

export type LiveEventType =
  | "message.created"
  | "message.updated"
  | "message.deleted"
  | "inbox.cleaned"
  | "inbox.all_read"
  | "overflow";

export interface LiveEvent {
  type: LiveEventType;
  inbox_id?: number;
  message_id?: number;
}

export type LiveStatus = "connecting" | "live" | "reconnecting";
type Listener = (event: LiveEvent) => void;

export interface LiveHub {
  subscribe: (listener: Listener) => () => void;
}

const TYPES: LiveEventType[] = [
  "message.created",
  "message.updated",
  "message.deleted",
  "inbox.cleaned",
  "inbox.all_read",
  "overflow",
];

export function useLiveStream(): { hub: LiveHub; status: LiveStatus } {
  const listeners = useRef(new Set<Listener>());
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const hub = useRef<LiveHub>({
    subscribe: (listener) => {
      listeners.current.add(listener);
      return () => listeners.current.delete(listener);
    },
  }).current;

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let dropped = false; // events may have been missed: listeners catch up on reconnect
    const open = () => {
      source = new EventSource(accountPath("/sandbox_events"));
      source.onopen = () => {
        setStatus("live");
        if (dropped) {
          dropped = false;
          listeners.current.forEach((l) => l({ type: "overflow" }));
        }
      };
      source.onerror = () => {
        if (!source || stopped) return;
        dropped = true;
        if (source.readyState === EventSource.CLOSED) {
          setStatus("reconnecting");
          source.close();
          retry = setTimeout(open, 5000);
        } else {
          setStatus("reconnecting");
        }
      };
      for (const type of TYPES) {
        source.addEventListener(type, (e) => {
          let data: LiveEvent = { type };
          try {
            data = { ...JSON.parse((e as MessageEvent).data), type };
          } catch {
            // a malformed event still tells us something changed
          }
          listeners.current.forEach((l) => l(data));
        });
      }
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
    };
  }, []);
  return { hub, status };
}

export const LiveContext = createContext<LiveHub>({ subscribe: () => () => undefined });

// Calls `listener` for every live event while the component is mounted (always the latest closure).
export function useLiveEvents(listener: Listener) {
  const hub = useContext(LiveContext);
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => hub.subscribe((e) => latest.current(e)), [hub]);
}
