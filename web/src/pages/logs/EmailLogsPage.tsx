// Email logs: every message the account sent (one row per recipient), filterable with the API's own filters
// (kept in the route query, so a reload or a shared link keeps them), paged with "Load more" cursors, and a
// message view with its event timeline, custom variables and the message as text, HTML source and raw.
import { Fragment } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { accountPath, api } from "../../lib/api";
import { messageOf, useAsync, useShortcuts } from "../../lib/hooks";
import { match, navigate, routeQuery } from "../../lib/router";
import { formatBytes } from "../../lib/format";
import { Badge, CopyButton, Empty, ErrorBanner, Loading, PageHeader, TabPanel, Tabs } from "../../components/ui";
import { HtmlSource, RawSource } from "./highlight";
import { binaryString, decodeWords, parseMessage, type ParsedMessage } from "./mime";
import {
  formatTime,
  inputValue,
  loadDomains,
  localToIso,
  setRouteQuery,
  useOnChange,
  type SendingDomain,
} from "./shared";
import "./logs.css";

interface LogMessage {
  message_id: string;
  status: string;
  subject: string;
  from: string;
  to: string;
  sent_at: string;
  client_ip: string | null;
  category: string | null;
  custom_variables: Record<string, unknown> | null;
  sending_stream: string;
  sending_domain_id: number;
  template_id: number | null;
  template_variables: Record<string, unknown> | null;
  opens_count: number;
  clicks_count: number;
  rfc_message_id: string | null;
}

interface LogEvent {
  event_type: string;
  created_at: string;
  details: Record<string, unknown> | null;
}

interface LogDetail extends LogMessage {
  raw_message_url: string;
  events: LogEvent[];
}

interface LogPage {
  messages: LogMessage[];
  total_count: number;
  next_page_cursor: string | null;
}

const STATUSES: [string, string][] = [
  ["delivered", "Delivered"],
  ["not_delivered", "Not delivered"],
  ["enqueued", "Enqueued"],
  ["opted_out", "Opted out"],
];

const EVENTS: [string, string][] = [
  ["sending", "Sending"],
  ["delivery", "Delivery"],
  ["soft_bounce", "Soft bounce"],
  ["bounce", "Bounce"],
  ["suspension", "Suspension"],
  ["reject", "Reject"],
  ["unsubscribe", "Unsubscribe"],
  ["spam", "Spam complaint"],
  ["open", "Open"],
  ["click", "Click"],
];

const eventLabel = (type: string) => EVENTS.find(([t]) => t === type)?.[1] ?? type;
const statusLabel = (status: string) => STATUSES.find(([s]) => s === status)?.[1] ?? status;

function statusKind(status: string): "ok" | "warn" | "bad" | "info" | "muted" {
  if (status === "delivered") return "ok";
  if (status === "not_delivered") return "bad";
  if (status === "opted_out") return "warn";
  if (status === "enqueued") return "info";
  return "muted";
}

function eventKind(type: string): "ok" | "warn" | "bad" | "info" | "muted" {
  if (type === "delivery" || type === "open" || type === "click") return "ok";
  if (type === "bounce" || type === "reject" || type === "spam") return "bad";
  if (type === "soft_bounce" || type === "suspension" || type === "unsubscribe") return "warn";
  return "info";
}

// Route query key → the API's filters[field][operator] (text filters, values as typed).
const TEXT_FILTERS: { key: string; field: string; op: string }[] = [
  { key: "to", field: "to", op: "ci_contain" },
  { key: "from", field: "from", op: "ci_contain" },
  { key: "subject", field: "subject", op: "ci_contain" },
  { key: "status", field: "status", op: "equal" },
  { key: "category", field: "category", op: "equal" },
  { key: "stream", field: "sending_stream", op: "equal" },
  { key: "domain", field: "sending_domain_id", op: "equal" },
  { key: "response", field: "email_service_provider_response", op: "ci_contain" },
  { key: "mx", field: "recipient_mx", op: "ci_contain" },
  { key: "esp", field: "email_service_provider", op: "equal" },
  { key: "client_ip", field: "client_ip", op: "contain" },
  { key: "sending_ip", field: "sending_ip", op: "contain" },
];
const ALL_KEYS = [...TEXT_FILTERS.map((f) => f.key), "event", "event_op", "after", "before", "opened", "clicked"];
const ADVANCED_KEYS = ["category", "response", "mx", "esp", "client_ip", "sending_ip", "opened", "clicked"];

type Filters = Record<string, string>;

function filtersOf(path: string): Filters {
  const q = routeQuery(path);
  const out: Filters = {};
  for (const key of ALL_KEYS) out[key] = q.get(key) ?? "";
  return out;
}

// The API query string for the filters: filters[field][operator]=…&filters[field][value]=…
function apiQuery(filters: Filters): string {
  const q = new URLSearchParams();
  const add = (field: string, op: string | null, value: string) => {
    if (op) q.append(`filters[${field}][operator]`, op);
    q.append(`filters[${field}][value]`, value);
  };
  for (const f of TEXT_FILTERS) if (filters[f.key].trim()) add(f.field, f.op, filters[f.key].trim());
  if (filters.event) add("events", filters.event_op === "exclude" ? "not_include_event" : "include_event", filters.event);
  if (filters.after) q.append("filters[sent_after][value]", localToIso(filters.after));
  if (filters.before) q.append("filters[sent_before][value]", localToIso(filters.before));
  if (filters.opened) add("opens_count", filters.opened === "yes" ? "greater_than" : "equal", "0");
  if (filters.clicked) add("clicks_count", filters.clicked === "yes" ? "greater_than" : "equal", "0");
  return q.toString();
}

// The list's route (with its filters) as last seen, so "Back" from a message returns to the same view.
let lastListPath = "/logs";

export function EmailLogsPage({ path }: { path: string }) {
  const detail = match("/logs/:messageId", path);
  const domains = useAsync(loadDomains, []);
  if (detail) return <MessageView id={detail.messageId} domains={domains.data ?? []} />;
  return <LogList path={path} domains={domains.data ?? []} domainsError={domains.error} />;
}

function LogList({ path, domains, domainsError }: { path: string; domains: SendingDomain[]; domainsError: string | null }) {
  lastListPath = path;
  const filters = useMemo(() => filtersOf(path), [path]);
  const query = apiQuery(filters);
  const [draft, setDraft] = useState<Filters>(filters);
  useOnChange(filters, setDraft);
  const [showAdvanced, setShowAdvanced] = useState(ADVANCED_KEYS.some((k) => filters[k]));
  const firstPage = useAsync(
    () => api.get<LogPage>(accountPath("/email_logs") + (query ? `?${query}` : "")),
    [query],
  );
  const [more, setMore] = useState<LogMessage[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreBusy, setMoreBusy] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  useEffect(() => {
    setMore([]);
    setMoreError(null);
    setCursor(firstPage.data?.next_page_cursor ?? null);
  }, [firstPage.data]);

  const apply = (next: Filters) => setRouteQuery("/logs", next);
  const setNow = (key: string, value: string) => {
    const next = { ...draft, [key]: value };
    setDraft(next);
    apply(next);
  };
  const text = (key: string) => ({
    value: draft[key],
    onInput: (e: Event) => setDraft({ ...draft, [key]: inputValue(e) }),
  });
  const active = ALL_KEYS.filter((k) => k !== "event_op" && filters[k]).length;

  const loadMore = async () => {
    if (!cursor) return;
    setMoreBusy(true);
    setMoreError(null);
    try {
      const page = await api.get<LogPage>(
        accountPath("/email_logs") + `?${query ? `${query}&` : ""}search_after=${encodeURIComponent(cursor)}`,
      );
      setMore((m) => [...m, ...page.messages]);
      setCursor(page.next_page_cursor);
    } catch (e) {
      setMoreError(messageOf(e));
    } finally {
      setMoreBusy(false);
    }
  };

  const tableRef = useRef<HTMLTableElement>(null);
  const firstFilter = useRef<HTMLInputElement>(null);
  const moveFocus = (delta: number) => {
    const links = Array.from(tableRef.current?.querySelectorAll<HTMLAnchorElement>("a.logs-link") ?? []);
    if (!links.length) return;
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    const next = at < 0 ? (delta > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + delta));
    links[next].focus();
  };
  useShortcuts(
    {
      j: () => moveFocus(1),
      k: () => moveFocus(-1),
      "/": () => firstFilter.current?.focus(),
      r: () => firstPage.reload(),
    },
    [firstPage.reload],
  );

  const messages = [...(firstPage.data?.messages ?? []), ...more];
  const domainName = (id: number) => domains.find((d) => d.id === id)?.domain_name ?? `#${id}`;

  return (
    <div class="logs-page">
      <PageHeader title="Email Logs">
        <span class="hint logs-keys" aria-hidden="true">
          <kbd>/</kbd> filter · <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>r</kbd> refresh
        </span>
        <button type="button" onClick={() => firstPage.reload()} disabled={firstPage.loading}>
          Refresh
        </button>
      </PageHeader>
      <form
        class="panel logs-filters"
        aria-label="Filter email logs"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <div class="logs-filter-row">
          <label class="logs-filter">
            <span>Recipient</span>
            <input ref={firstFilter} type="search" placeholder="contains…" {...text("to")} />
          </label>
          <label class="logs-filter">
            <span>Sender</span>
            <input type="search" placeholder="contains…" {...text("from")} />
          </label>
          <label class="logs-filter">
            <span>Subject</span>
            <input type="search" placeholder="contains…" {...text("subject")} />
          </label>
          <label class="logs-filter">
            <span>Status</span>
            <select value={draft.status} onChange={(e) => setNow("status", inputValue(e))}>
              <option value="">Any status</option>
              {STATUSES.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <div class="logs-filter">
            <span id="logs-event-label">Event</span>
            <div class="row logs-nowrap">
              <select
                aria-label="Event condition"
                value={draft.event_op || "include"}
                onChange={(e) => setNow("event_op", inputValue(e) === "include" ? "" : inputValue(e))}
              >
                <option value="include">has</option>
                <option value="exclude">has no</option>
              </select>
              <select
                aria-labelledby="logs-event-label"
                value={draft.event}
                onChange={(e) => setNow("event", inputValue(e))}
              >
                <option value="">Any event</option>
                {EVENTS.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <label class="logs-filter">
            <span>Stream</span>
            <select value={draft.stream} onChange={(e) => setNow("stream", inputValue(e))}>
              <option value="">Any stream</option>
              <option value="transactional">Transactional</option>
              <option value="bulk">Bulk</option>
            </select>
          </label>
          <label class="logs-filter">
            <span>Sending domain</span>
            <select value={draft.domain} onChange={(e) => setNow("domain", inputValue(e))}>
              <option value="">Any domain</option>
              {domains.map((d) => (
                <option key={d.id} value={String(d.id)}>
                  {d.domain_name}
                </option>
              ))}
            </select>
          </label>
          <label class="logs-filter">
            <span>Sent after</span>
            <input type="datetime-local" value={draft.after} onChange={(e) => setNow("after", inputValue(e))} />
          </label>
          <label class="logs-filter">
            <span>Sent before</span>
            <input type="datetime-local" value={draft.before} onChange={(e) => setNow("before", inputValue(e))} />
          </label>
        </div>
        {showAdvanced && (
          <div class="logs-filter-row" id="logs-advanced">
            <label class="logs-filter">
              <span>Category</span>
              <input type="search" placeholder="exactly…" {...text("category")} />
            </label>
            <label class="logs-filter">
              <span>Provider response</span>
              <input type="search" placeholder="contains…" {...text("response")} />
            </label>
            <label class="logs-filter">
              <span>Recipient MX</span>
              <input type="search" placeholder="contains…" {...text("mx")} />
            </label>
            <label class="logs-filter">
              <span>Mailbox provider</span>
              <input type="search" placeholder="exactly, e.g. Google" {...text("esp")} />
            </label>
            <label class="logs-filter">
              <span>Client IP</span>
              <input type="search" placeholder="contains…" {...text("client_ip")} />
            </label>
            <label class="logs-filter">
              <span>Sending IP</span>
              <input type="search" placeholder="contains…" {...text("sending_ip")} />
            </label>
            <label class="logs-filter">
              <span>Opened</span>
              <select value={draft.opened} onChange={(e) => setNow("opened", inputValue(e))}>
                <option value="">Either</option>
                <option value="yes">Opened</option>
                <option value="no">Not opened</option>
              </select>
            </label>
            <label class="logs-filter">
              <span>Clicked</span>
              <select value={draft.clicked} onChange={(e) => setNow("clicked", inputValue(e))}>
                <option value="">Either</option>
                <option value="yes">Clicked</option>
                <option value="no">Not clicked</option>
              </select>
            </label>
          </div>
        )}
        <div class="row">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button type="button" disabled={!active} onClick={() => apply({})}>
            Clear filters
          </button>
          <button
            type="button"
            class="link"
            aria-expanded={showAdvanced}
            aria-controls="logs-advanced"
            onClick={() => setShowAdvanced(!showAdvanced)}
          >
            {showAdvanced ? "Fewer filters" : "More filters"}
          </button>
          <span class="grow" />
          <span class="hint" role="status" aria-live="polite">
            {firstPage.data
              ? `${firstPage.data.total_count} ${firstPage.data.total_count === 1 ? "message" : "messages"}${active ? " match" : ""}`
              : ""}
          </span>
        </div>
      </form>
      <ErrorBanner error={domainsError} />
      <ErrorBanner error={firstPage.error} />
      {firstPage.loading && !firstPage.data ? (
        <Loading />
      ) : firstPage.data && messages.length === 0 ? (
        <Empty>
          {active
            ? "No messages match these filters."
            : "No messages sent yet. Send through the Email API or SMTP from a verified (or the demo) domain and they appear here."}
        </Empty>
      ) : (
        messages.length > 0 && (
          <table class="logs-table" ref={tableRef} aria-label="Sent messages" aria-busy={firstPage.loading}>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Sent</th>
                <th scope="col">Subject</th>
                <th scope="col">To</th>
                <th scope="col">From</th>
                <th scope="col">Stream</th>
                <th scope="col">Domain</th>
                <th scope="col">Category</th>
                <th scope="col" title="Opens / clicks">
                  Opens / clicks
                </th>
              </tr>
            </thead>
            <tbody>
              {messages.map((m) => (
                <tr key={m.message_id} class="logs-row" onClick={() => navigate(`/logs/${m.message_id}`)}>
                  <td>
                    <Badge kind={statusKind(m.status)}>{statusLabel(m.status)}</Badge>
                  </td>
                  <td class="logs-nowrap">
                    <time dateTime={m.sent_at}>{formatTime(m.sent_at)}</time>
                  </td>
                  <td class="logs-subject">
                    <a class="logs-link" href={`#/logs/${m.message_id}`} onClick={(e) => e.stopPropagation()}>
                      {m.subject || "(no subject)"}
                    </a>
                  </td>
                  <td>{m.to}</td>
                  <td>{m.from}</td>
                  <td>{m.sending_stream}</td>
                  <td>{domainName(m.sending_domain_id)}</td>
                  <td>{m.category ?? "—"}</td>
                  <td class="logs-nowrap">
                    {m.opens_count} / {m.clicks_count}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      <ErrorBanner error={moreError} />
      {cursor && messages.length > 0 && (
        <div class="logs-more">
          <button type="button" onClick={loadMore} disabled={moreBusy}>
            {moreBusy ? "Loading…" : "Load more"}
          </button>
          <span class="hint">
            Showing {messages.length} of {firstPage.data?.total_count ?? "?"}
          </span>
        </div>
      )}
    </div>
  );
}

// The raw message behind the signed raw_message_url, fetched from this origin (the URL's path and signature
// are what matter; the host in it may be the public URL of another interface).
async function loadRaw(url: string): Promise<{ raw: string; parsed: ParsedMessage }> {
  const u = new URL(url, window.location.href);
  const response = await api.get<Response>(u.pathname + u.search, { raw: true, headers: { Accept: "message/rfc822" } });
  const binary = binaryString(await response.arrayBuffer());
  const parsed = parseMessage(binary);
  let raw: string;
  try {
    raw = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    raw = binary; // not UTF-8 (8-bit legacy charsets): show the bytes one per character
  }
  return { raw, parsed };
}

function MessageView({ id, domains }: { id: string; domains: SendingDomain[] }) {
  const message = useAsync(() => api.get<LogDetail>(accountPath(`/email_logs/${encodeURIComponent(id)}`)), [id]);
  // The raw message of the message loaded for this id (not of one shown a moment ago), fetched once per message.
  const rawUrl = message.data?.message_id === id ? message.data.raw_message_url : "";
  const raw = useAsync(async () => (rawUrl ? loadRaw(rawUrl) : null), [rawUrl ? id : ""]);
  const [tab, setTab] = useState<string | null>(null);

  // While the message is still queued, look again now and then: delivery or a bounce is seconds away.
  const status = message.data?.status;
  useEffect(() => {
    if (status !== "enqueued") return;
    const timer = setTimeout(() => message.reload(), 3000);
    return () => clearTimeout(timer);
  }, [status, message.data]);

  const back = () => navigate(lastListPath);
  useShortcuts({ Escape: back, u: back, r: () => message.reload() }, [message.reload]);

  const m = message.data;
  const parsed = raw.data?.parsed;
  const tabs = [
    ...(parsed?.html !== null && parsed ? [{ id: "preview", label: "HTML" }] : []),
    ...(parsed?.text !== null && parsed ? [{ id: "text", label: "Text" }] : []),
    ...(parsed?.html !== null && parsed ? [{ id: "html", label: "HTML source" }] : []),
    { id: "raw", label: "Raw" },
  ];
  const selected = tab && tabs.some((t) => t.id === tab) ? tab : tabs[0].id;
  const domain = m ? domains.find((d) => d.id === m.sending_domain_id) : undefined;
  const subjectHeader = parsed?.headers.find(([k]) => k.toLowerCase() === "subject")?.[1];

  return (
    <div class="logs-detail">
      <nav class="logs-back" aria-label="Breadcrumb">
        <a href={`#${lastListPath}`}>← Email Logs</a>
      </nav>
      <ErrorBanner error={message.error} />
      {!m ? (
        message.loading && <Loading />
      ) : (
        <>
          <PageHeader title={m.subject || (subjectHeader ? decodeWords(subjectHeader) : "(no subject)")}>
            <Badge kind={statusKind(m.status)}>{statusLabel(m.status)}</Badge>
            <button type="button" onClick={() => message.reload()} disabled={message.loading}>
              Refresh
            </button>
          </PageHeader>
          <div class="logs-detail-grid">
            <section class="panel" aria-labelledby="logs-summary-title">
              <h2 id="logs-summary-title">Message</h2>
              <dl class="logs-dl">
                <dt>From</dt>
                <dd>{m.from}</dd>
                <dt>To</dt>
                <dd>
                  {m.to}{" "}
                  <a
                    class="logs-aside"
                    href={`#/suppressions?email=${encodeURIComponent(m.to)}`}
                    aria-label={`Suppressions for ${m.to}`}
                  >
                    suppressions
                  </a>{" "}
                  <a
                    class="logs-aside"
                    href={`#/logs?to=${encodeURIComponent(m.to)}`}
                    aria-label={`All mail to ${m.to}`}
                  >
                    all mail to it
                  </a>
                </dd>
                <dt>Sent</dt>
                <dd>
                  <time dateTime={m.sent_at}>{formatTime(m.sent_at)}</time>
                </dd>
                <dt>Stream</dt>
                <dd>{m.sending_stream}</dd>
                <dt>Sending domain</dt>
                <dd>{domain ? domain.domain_name : `#${m.sending_domain_id}`}</dd>
                <dt>Category</dt>
                <dd>{m.category ?? "—"}</dd>
                <dt>Opens / clicks</dt>
                <dd>
                  {m.opens_count} / {m.clicks_count}
                </dd>
                <dt>Client IP</dt>
                <dd>{m.client_ip ?? "—"}</dd>
                {m.template_id !== null && (
                  <>
                    <dt>Template</dt>
                    <dd>#{m.template_id}</dd>
                  </>
                )}
                <dt>Message ID</dt>
                <dd class="logs-id">
                  <code>{m.message_id}</code> <CopyButton value={m.message_id} label="Copy message ID" />
                </dd>
                {m.rfc_message_id && (
                  <>
                    <dt>Message-ID header</dt>
                    <dd>
                      <code>{m.rfc_message_id}</code>
                    </dd>
                  </>
                )}
              </dl>
              <Variables title="Custom variables" values={m.custom_variables} />
              {m.template_variables && <Variables title="Template variables" values={m.template_variables} />}
            </section>
            <section class="panel" aria-labelledby="logs-events-title">
              <h2 id="logs-events-title">Events</h2>
              {m.events.length === 0 ? (
                <p class="hint">No events yet{m.status === "enqueued" ? ": the message is queued for delivery." : "."}</p>
              ) : (
                <ol class="logs-timeline" aria-label="Event history">
                  {m.events.map((e, i) => (
                    <li key={i} class={`logs-event logs-event-${eventKind(e.event_type)}`}>
                      <div class="logs-event-head">
                        <Badge kind={eventKind(e.event_type)}>{eventLabel(e.event_type)}</Badge>
                        <time dateTime={e.created_at}>{formatTime(e.created_at)}</time>
                      </div>
                      {e.details && Object.keys(e.details).length > 0 && (
                        <dl class="logs-dl logs-event-details">
                          {Object.entries(e.details).map(([k, v]) => (
                            <Fragment key={k}>
                              <dt>{k.replace(/_/g, " ")}</dt>
                              <dd>{v === null || v === "" ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
                            </Fragment>
                          ))}
                        </dl>
                      )}
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </div>
          <section class="panel" aria-labelledby="logs-body-title">
            <div class="row">
              <h2 id="logs-body-title" class="grow">
                Content
              </h2>
              {rawUrl && (
                <a class="button small" href={rawPath(rawUrl)} download={`${m.message_id}.eml`}>
                  Download .eml
                </a>
              )}
            </div>
            <ErrorBanner error={raw.error} />
            {raw.loading && !raw.data ? (
              <Loading label="Loading the message…" />
            ) : (
              raw.data && (
                <>
                  <Tabs tabs={tabs} selected={selected} onSelect={setTab} label="Message content" />
                  <TabPanel id={selected}>
                    {selected === "text" && <pre class="logs-code logs-text">{parsed?.text}</pre>}
                    {selected === "preview" && (
                      // Rendered by the browser only inside a sandbox: no scripts, an opaque origin, and the
                      // server's own sandbox policy on the document.
                      <iframe
                        class="logs-preview-frame"
                        title="HTML preview"
                        sandbox=""
                        src={accountPath(`/email_logs/${encodeURIComponent(id)}/body.html`)}
                      />
                    )}
                    {selected === "html" && <HtmlSource source={parsed?.html ?? ""} />}
                    {selected === "raw" && <RawSource source={raw.data.raw} />}
                  </TabPanel>
                  {parsed && parsed.attachments.length > 0 && (
                    <>
                      <h3>Attachments</h3>
                      <ul class="logs-attachments">
                        {parsed.attachments.map((a, i) => (
                          <li key={i}>
                            {a.filename} <span class="hint">{a.contentType}, {formatBytes(a.size)}</span>
                          </li>
                        ))}
                      </ul>
                    </>
                  )}
                </>
              )
            )}
          </section>
        </>
      )}
    </div>
  );
}

function rawPath(url: string): string {
  const u = new URL(url, window.location.href);
  return u.pathname + u.search;
}

function Variables({ title, values }: { title: string; values: Record<string, unknown> | null }) {
  const entries = values ? Object.entries(values) : [];
  return (
    <>
      <h3>{title}</h3>
      {entries.length === 0 ? (
        <p class="hint">None</p>
      ) : (
        <table class="logs-vars" aria-label={title}>
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>
                  <code>{typeof v === "string" ? v : JSON.stringify(v)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
