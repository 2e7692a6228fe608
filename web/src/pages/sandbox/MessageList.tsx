// A sandbox's messages, newest first, virtualised: only the rows in view (plus a few) are in the DOM, and pages
// of 30 are fetched from the API as they scroll into view. Pages are counted from the newest message at load
// time (`last_id = anchor + 1`), so mail arriving meanwhile does not shift them; new mail is prepended live.
import type { MutableRef } from "preact/hooks";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, query } from "../../lib/api";
import { messageOf, useAction } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { plural } from "../../lib/format";
import { ConfirmButton, ErrorBanner } from "../../components/ui";
import { useLiveEvents, type LiveStatus } from "./live";
import { inboxPath, messagePath, messageRoute, type Inbox, type Message } from "./types";

export interface ListHandle {
  // A message changed (read state): show it.
  update: (message: Message) => void;
  // The message to show in place of this one when it goes (the next older, else the newer; null when none).
  neighbour: (id: number) => number | null;
  // A message is gone: drop it.
  remove: (id: number) => void;
}

export const ROW_HEIGHT = 64;
const PAGE = 30;
const OVERSCAN = 10;

interface Store {
  gen: number;
  items: (Message | undefined)[];
  prefix: number; // rows prepended live above the anchor
  anchor: number | null; // newest id at load; older pages are counted from it
  exact: boolean; // items.length is the real count
  inflight: Set<number>;
  failed: boolean;
  refreshing: boolean;
  again: boolean;
  loading: boolean; // the first page is on its way
  missed: boolean; // new mail was announced meanwhile
}

const fresh = (gen: number): Store => ({
  gen,
  items: [],
  prefix: 0,
  anchor: null,
  exact: false,
  inflight: new Set(),
  failed: false,
  refreshing: false,
  again: false,
  loading: true,
  missed: false,
});

export function MessageList({
  inbox,
  openId,
  tab,
  handle,
  live,
  onInboxChanged,
}: {
  inbox: Inbox;
  openId: number | null;
  tab?: string;
  handle: MutableRef<ListHandle | null>;
  live: LiveStatus;
  onInboxChanged: (inbox: Inbox) => void;
}) {
  const store = useRef<Store>(fresh(0));
  const [, setTick] = useState(0);
  const bump = () => setTick((n) => n + 1);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const [draft, setDraft] = useState("");
  const [search, setSearch] = useState("");
  const [selectedId, setSelectedId] = useState<number | null>(openId);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const scroller = useRef<HTMLDivElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const scrollAdjust = useRef(0);
  const action = useAction();
  const messagesUrl = (params: Record<string, string | number | undefined>) =>
    inboxPath(inbox.id, `/messages${query({ search: search || undefined, ...params })}`);

  // ---- loading -------------------------------------------------------------------------------------------
  const reset = async () => {
    const previous = store.current;
    const s = (store.current = fresh(previous.gen + 1));
    s.items = previous.items; // shown (and clickable) until the new first page arrives: no flash of emptiness
    s.exact = true; // nothing to page through meanwhile
    setLoading(true);
    setError(null);
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
    try {
      const [first, current] = await Promise.all([
        api.get<Message[]>(messagesUrl({})),
        search ? Promise.resolve(null) : api.get<Inbox>(inboxPath(inbox.id)),
      ]);
      if (s !== store.current) return;
      if (current) onInboxChanged(current);
      s.items = first.slice();
      s.anchor = first[0]?.id ?? null;
      s.exact = first.length < PAGE;
      if (!s.exact) {
        // The count says how far the list reaches (searches have none: one more page at a time).
        s.items.length = current && current.emails_count > first.length ? current.emails_count : first.length + PAGE;
      }
    } catch (e) {
      if (s === store.current) {
        s.items = [];
        setError(messageOf(e));
      }
    } finally {
      s.loading = false;
      if (s === store.current) {
        setLoading(false);
        bump();
        // Mail announced while the first page was on its way may not be in it.
        if (s.missed) prependNew();
      }
    }
  };

  const fetchPage = async (page: number) => {
    const s = store.current;
    if (s.anchor === null || s.inflight.has(page) || s.failed) return;
    s.inflight.add(page);
    try {
      const found = await api.get<Message[]>(messagesUrl({ last_id: s.anchor + 1, page }));
      if (s !== store.current) return;
      const base = s.prefix + (page - 1) * PAGE;
      found.forEach((m, k) => (s.items[base + k] = m));
      if (found.length < PAGE) {
        s.items.length = base + found.length;
        s.exact = true;
      } else if (!s.exact && base + PAGE >= s.items.length) {
        s.items.length = base + 2 * PAGE;
      }
    } catch (e) {
      if (s !== store.current) return;
      s.failed = true;
      setError(messageOf(e));
    } finally {
      s.inflight.delete(page);
      if (s === store.current) bump();
    }
  };

  // New mail: fetch the newest page and prepend what is newer than the top row (bursts coalesce).
  const prependNew = async () => {
    const s = store.current;
    if (s.loading) {
      s.missed = true;
      return;
    }
    if (s.refreshing) {
      s.again = true;
      return;
    }
    s.refreshing = true;
    try {
      do {
        s.again = false;
        const newest = await api.get<Message[]>(messagesUrl({}));
        if (s !== store.current) return;
        const top = s.items[0]?.id ?? s.anchor ?? 0;
        const newer = newest.filter((m) => m.id > top);
        if (newer.length === PAGE) {
          // More arrived than one page shows: start over rather than leave a gap.
          s.refreshing = false;
          return reset();
        }
        if (newer.length) {
          s.items.unshift(...newer);
          s.prefix += newer.length;
          if ((scroller.current?.scrollTop ?? 0) > 0) scrollAdjust.current += newer.length * ROW_HEIGHT;
          setAnnouncement(
            newer.length === 1 ? `New message: ${newer[0].subject || "(no subject)"}` : `${newer.length} new messages`,
          );
          bump();
        }
      } while (s.again);
    } catch (e) {
      if (s === store.current) setError(messageOf(e));
    } finally {
      s.refreshing = false;
    }
  };

  const indexOf = (id: number) => store.current.items.findIndex((m) => m?.id === id);

  const neighbour = (id: number): number | null => {
    const i = indexOf(id);
    if (i < 0) return null;
    const next = store.current.items[i + 1] ?? store.current.items[i - 1];
    return next ? next.id : null;
  };

  const removeLocal = (id: number) => {
    const s = store.current;
    const i = indexOf(id);
    if (i < 0) return;
    s.items.splice(i, 1);
    if (i < s.prefix) s.prefix--;
    bump();
  };

  const updateLocal = (message: Message) => {
    const i = indexOf(message.id);
    if (i >= 0) {
      store.current.items[i] = message;
      bump();
    }
  };

  handle.current = { update: updateLocal, remove: removeLocal, neighbour };

  useEffect(() => {
    reset();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [inbox.id, search]);

  useEffect(() => setSelectedId(openId), [openId]);

  useLiveEvents((e) => {
    if (e.type === "overflow") return void reset();
    if (e.inbox_id !== inbox.id) return;
    switch (e.type) {
      case "message.created":
        prependNew();
        break;
      case "message.deleted":
        if (e.message_id) removeLocal(e.message_id);
        break;
      case "message.updated":
        if (e.message_id && indexOf(e.message_id) >= 0)
          api
            .get<Message>(messagePath(inbox.id, e.message_id))
            .then(updateLocal)
            .catch(() => undefined); // deleted meanwhile: its delete event follows
        break;
      case "inbox.cleaned":
        reset();
        break;
      case "inbox.all_read":
        store.current.items.forEach((m, i, all) => m && !m.is_read && (all[i] = { ...m, is_read: true }));
        bump();
        break;
    }
  });

  // ---- viewport ------------------------------------------------------------------------------------------
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    setViewport(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (scrollAdjust.current && scroller.current) {
      scroller.current.scrollTop += scrollAdjust.current;
      scrollAdjust.current = 0;
    }
  });

  const frame = useRef(0);
  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      setScrollTop(scroller.current?.scrollTop ?? 0);
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const items = store.current.items;
  const total = items.length;
  const start = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const end = Math.min(total, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  useEffect(() => {
    const s = store.current;
    for (let i = start; i < end; i++) {
      if (items[i] === undefined && i >= s.prefix) fetchPage(Math.floor((i - s.prefix) / PAGE) + 1);
    }
  });

  // ---- selection and keys --------------------------------------------------------------------------------
  const scrollToIndex = (i: number) => {
    const el = scroller.current;
    if (!el) return;
    const top = i * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  };

  const move = (delta: number) => {
    if (total === 0) return;
    const current = selectedId === null ? -1 : indexOf(selectedId);
    const next = current < 0 ? (delta > 0 ? 0 : 0) : Math.min(total - 1, Math.max(0, current + delta));
    scrollToIndex(next);
    const m = items[next];
    if (m) setSelectedId(m.id);
    scroller.current?.focus({ preventScroll: true });
  };

  const open = (id: number) => navigate(messageRoute(inbox.id, id, tab));

  const remove = (id: number) =>
    action.run(async () => {
      // Chosen before the request: the live delete event may remove the row before the answer arrives.
      const next = neighbour(id);
      await api.del(messagePath(inbox.id, id));
      removeLocal(id);
      if (id === openId) {
        if (next) navigate(messageRoute(inbox.id, next, tab), { replace: true });
        else navigate(`/sandbox/${inbox.id}`, { replace: true });
      }
      setSelectedId(next);
    });

  const keyState = useRef({ move, open, remove, selectedId, openId });
  keyState.current = { move, open, remove, selectedId, openId };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest("dialog")) return;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      const onList = !target || target === scroller.current || target === document.body || target.id === "main";
      const k = keyState.current;
      const selected = k.selectedId ?? k.openId;
      if (event.key === "j" || (onList && event.key === "ArrowDown")) k.move(1);
      else if (event.key === "k" || (onList && event.key === "ArrowUp")) k.move(-1);
      else if (event.key === "/") searchBox.current?.focus();
      else if (onList && event.key === "Enter" && selected !== null) k.open(selected);
      else if (onList && (event.key === "Delete" || event.key === "Del") && selected !== null) k.remove(selected);
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // ---- actions -------------------------------------------------------------------------------------------
  const markAllRead = () =>
    action.run(async () => {
      onInboxChanged(await api.patch<Inbox>(inboxPath(inbox.id, "/all_read")));
      store.current.items.forEach((m, i, all) => m && !m.is_read && (all[i] = { ...m, is_read: true }));
      bump();
    });
  const clean = () =>
    action.run(async () => {
      onInboxChanged(await api.patch<Inbox>(inboxPath(inbox.id, "/clean")));
      navigate(`/sandbox/${inbox.id}`);
      await reset();
    });

  const applySearch = (value: string) => setSearch(value.trim());
  useEffect(() => {
    const t = setTimeout(() => applySearch(draft), 350);
    return () => clearTimeout(t);
  }, [draft]);

  const count = store.current.exact ? `${total}` : `${inbox.emails_count}`;
  const rows = [];
  for (let i = start; i < end; i++) {
    const m = items[i];
    rows.push(
      m ? (
        <Row
          key={m.id}
          message={m}
          index={i}
          open={m.id === openId}
          selected={m.id === selectedId}
          onClick={() => {
            setSelectedId(m.id);
            open(m.id);
          }}
        />
      ) : (
        <div key={`p${i}`} class="sbx-row sbx-row-placeholder" aria-hidden="true" style={{ transform: `translateY(${i * ROW_HEIGHT}px)` }}>
          <span class="sbx-skeleton" />
          <span class="sbx-skeleton short" />
        </div>
      ),
    );
  }

  return (
    <section class="sbx-list" aria-label={`Messages in ${inbox.name}`}>
      <header class="sbx-list-head">
        <div class="row">
          <h1 class="sbx-inbox-title" title={inbox.name}>
            {inbox.name}
          </h1>
          <LiveIndicator status={live} />
          <a class="button small sbx-settings-link" href={`#/sandbox/${inbox.id}/settings/smtp`}>
            Settings
          </a>
        </div>
        <form
          class="sbx-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            applySearch(draft);
          }}
        >
          <label for="sbx-search" class="visually-hidden">
            Search messages
          </label>
          <input
            id="sbx-search"
            ref={searchBox}
            type="search"
            value={draft}
            placeholder="Search  ( / )"
            title={'Words match subject, To and bodies. Operators: from: to: subject: has:attachment is:unread is:read "exact phrase" -negation'}
            aria-describedby="sbx-search-help"
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                if (draft) setDraft("");
                else scroller.current?.focus();
              }
              if (e.key === "ArrowDown") {
                e.preventDefault();
                move(1);
              }
            }}
          />
          <span id="sbx-search-help" class="visually-hidden">
            Operators: from:, to:, subject:, has:attachment, is:unread, is:read, quoted phrases, and minus to negate.
          </span>
        </form>
        <div class="row sbx-list-actions">
          <span class="hint" aria-live="polite">
            {loading ? "Loading…" : search ? `${total}${store.current.exact ? "" : "+"} found` : plural(Number(count), "message")}
          </span>
          <span class="grow" />
          <button type="button" class="small" onClick={markAllRead} disabled={action.busy || total === 0}>
            Mark all read
          </button>
          {inbox.permissions.can_update && (
            <ConfirmButton label="Clean sandbox" confirmLabel="Delete all messages" onConfirm={clean} disabled={action.busy} />
          )}
        </div>
      </header>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {store.current.failed && (
        <button
          type="button"
          class="small"
          onClick={() => {
            store.current.failed = false;
            setError(null);
            bump();
          }}
        >
          Retry loading
        </button>
      )}
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
      <div
        ref={scroller}
        class="sbx-scroller"
        role="listbox"
        tabIndex={0}
        aria-label="Messages"
        aria-activedescendant={selectedId !== null && indexOf(selectedId) >= 0 ? `sbx-msg-${selectedId}` : undefined}
        onScroll={onScroll}
      >
        <div class="sbx-spacer" style={{ height: `${total * ROW_HEIGHT}px` }}>
          {rows}
        </div>
        {!loading && total === 0 && !error && (
          <div class="empty sbx-list-empty">
            {search ? (
              "No messages match this search."
            ) : (
              <>
                No messages yet. Send one with this sandbox's{" "}
                <a href={`#/sandbox/${inbox.id}/settings/smtp`}>SMTP credentials</a>.
              </>
            )}
          </div>
        )}
      </div>
      <div class="visually-hidden" aria-live="polite">
        {announcement}
      </div>
    </section>
  );
}

function Row({
  message: m,
  index,
  open,
  selected,
  onClick,
}: {
  message: Message;
  index: number;
  open: boolean;
  selected: boolean;
  onClick: () => void;
}) {
  const cls = ["sbx-row", m.is_read ? "" : "unread", open ? "open" : "", selected ? "selected" : ""].join(" ");
  return (
    <div
      id={`sbx-msg-${m.id}`}
      role="option"
      aria-selected={selected}
      class={cls}
      data-id={m.id}
      style={{ transform: `translateY(${index * ROW_HEIGHT}px)` }}
      onClick={onClick}
    >
      <div class="sbx-row-line">
        {!m.is_read && (
          <>
            <span class="sbx-dot" aria-hidden="true" />
            <span class="visually-hidden">Unread: </span>
          </>
        )}
        <span class="sbx-row-subject">{m.subject || "(no subject)"}</span>
        <time class="sbx-row-time" dateTime={m.sent_at}>
          {shortTime(m.sent_at)}
        </time>
      </div>
      <div class="sbx-row-line sbx-row-meta">
        <span class="sbx-row-to">To: {m.to_name ? `${m.to_name} <${m.to_email}>` : m.to_email}</span>
        <span class="sbx-row-size">{m.human_size}</span>
      </div>
    </div>
  );
}

function LiveIndicator({ status }: { status: LiveStatus }) {
  const text = status === "live" ? "Live" : status === "connecting" ? "Connecting…" : "Reconnecting…";
  return (
    <span class={`sbx-live sbx-live-${status}`} title="Live updates: new mail appears without reloading">
      {text}
    </span>
  );
}

function shortTime(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric", year: d.getFullYear() === now.getFullYear() ? undefined : "numeric" });
}
