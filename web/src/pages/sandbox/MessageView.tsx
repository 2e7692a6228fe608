// One captured message: its headers, attachments and actions, and the tabs — HTML preview (sandboxed iframe),
// HTML Source, Text, Raw, Spam Analysis, HTML Check, Tech Info.
import type { MutableRef } from "preact/hooks";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { navigate, routeQuery } from "../../lib/router";
import { formatDate } from "../../lib/format";
import { ConfirmButton, Empty, ErrorBanner, Field, Loading, Modal, TabPanel, Tabs } from "../../components/ui";
import { useLiveEvents } from "./live";
import type { ListHandle } from "./MessageList";
import { HtmlSource } from "./HtmlSource";
import { HtmlCheck } from "./HtmlCheck";
import { SpamAnalysis } from "./SpamAnalysis";
import { TechInfo } from "./TechInfo";
import { messagePath, messageRoute, type Attachment, type Inbox, type Message } from "./types";

const ALL_TABS = [
  { id: "html", label: "HTML" },
  { id: "source", label: "HTML Source" },
  { id: "text", label: "Text" },
  { id: "raw", label: "Raw" },
  { id: "spam", label: "Spam Analysis" },
  { id: "check", label: "HTML Check" },
  { id: "tech", label: "Tech Info" },
];

export function MessageView({
  inbox,
  messageId,
  tab,
  path,
  list,
}: {
  inbox: Inbox;
  messageId: number;
  tab?: string;
  path: string;
  list: MutableRef<ListHandle | null>;
}) {
  const message = useAsync(async () => {
    let m = await api.get<Message>(messagePath(inbox.id, messageId));
    if (!m.is_read) {
      // Opening a message reads it. A viewer may not change it (403): the message is shown all the same.
      try {
        m = await api.patch<Message>(messagePath(inbox.id, messageId), { message: { is_read: true } });
      } catch {
        // Keep showing the message; its unread state stays as the server has it.
      }
    }
    list.current?.update(m);
    return m;
  }, [inbox.id, messageId]);
  const attachments = useAsync(
    () => api.get<Attachment[]>(messagePath(inbox.id, messageId, "/attachments")),
    [inbox.id, messageId],
  );
  const action = useAction();
  const [forwarding, setForwarding] = useState(false);
  const [gone, setGone] = useState(false);
  useLiveEvents((e) => {
    if (e.inbox_id !== inbox.id) return;
    if ((e.type === "message.deleted" && e.message_id === messageId) || e.type === "inbox.cleaned") setGone(true);
  });

  const m = message.data;
  if (gone)
    return (
      <Empty>
        This message was deleted. <a href={`#/sandbox/${inbox.id}`}>Back to the list</a>
      </Empty>
    );
  if (!m) return message.error ? <ErrorBanner error={message.error} /> : <Loading />;

  const tabs = ALL_TABS.filter((t) => {
    if (t.id === "html" || t.id === "source" || t.id === "check") return m.html_body_size > 0;
    if (t.id === "text") return m.text_body_size > 0;
    return true;
  });
  const selected = tabs.find((t) => t.id === tab)?.id ?? tabs[0].id;
  const select = (id: string) => navigate(messageRoute(inbox.id, messageId, id), { replace: true });
  const line = Number(routeQuery(path).get("line")) || null;

  const toggleRead = () =>
    action.run(async () => {
      const updated = await api.patch<Message>(messagePath(inbox.id, messageId), { message: { is_read: !m.is_read } });
      message.setData(updated);
      list.current?.update(updated);
    });
  const remove = () =>
    action.run(async () => {
      const next = list.current?.neighbour(messageId) ?? null;
      await api.del(messagePath(inbox.id, messageId));
      list.current?.remove(messageId);
      navigate(next ? messageRoute(inbox.id, next, selected) : `/sandbox/${inbox.id}`, { replace: true });
    });

  return (
    <article class="sbx-message" aria-labelledby="sbx-message-subject">
      <header class="sbx-message-head">
        <h2 id="sbx-message-subject" class="sbx-message-subject">
          {m.subject || "(no subject)"}
        </h2>
        <dl class="sbx-meta">
          <dt>From</dt>
          <dd>{m.from_name ? `${m.from_name} <${m.from_email}>` : m.from_email}</dd>
          <dt>To</dt>
          <dd>{m.to_name ? `${m.to_name} <${m.to_email}>` : m.to_email}</dd>
          <dt>Date</dt>
          <dd>
            <time dateTime={m.sent_at}>{formatDate(m.sent_at)}</time>
          </dd>
          <dt>Size</dt>
          <dd>{m.human_size}</dd>
        </dl>
        <div class="row sbx-message-actions">
          <button type="button" class="small" onClick={() => setForwarding(true)}>
            Forward
          </button>
          <a class="button small" href={m.download_path} download>
            Download .eml
          </a>
          <button type="button" class="small" onClick={toggleRead} disabled={action.busy}>
            {m.is_read ? "Mark unread" : "Mark read"}
          </button>
          {inbox.permissions.can_update && (
            <ConfirmButton label="Delete" confirmLabel="Delete message" onConfirm={remove} disabled={action.busy} />
          )}
        </div>
        <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
        <Attachments state={attachments} />
      </header>
      <Tabs tabs={tabs} selected={selected} onSelect={select} label="Message views" />
      <TabPanel id={selected}>
        {selected === "html" && <HtmlPreview src={m.html_path} />}
        {selected === "source" && <HtmlSource inbox={inbox} message={m} line={line} />}
        {selected === "text" && <TextBody url={m.txt_path} label="Text body" />}
        {selected === "raw" && <TextBody url={m.raw_path} label="Raw message" />}
        {selected === "spam" && <SpamAnalysis inbox={inbox} message={m} />}
        {selected === "check" && <HtmlCheck inbox={inbox} message={m} />}
        {selected === "tech" && <TechInfo inbox={inbox} message={m} />}
      </TabPanel>
      <Modal title="Forward message" open={forwarding} onClose={() => setForwarding(false)}>
        <ForwardForm inbox={inbox} message={m} onDone={() => setForwarding(false)} />
      </Modal>
    </article>
  );
}

function Attachments({ state }: { state: { data: Attachment[] | undefined; error: string | null } }) {
  if (state.error) return <ErrorBanner error={state.error} />;
  if (!state.data || state.data.length === 0) return null;
  return (
    <div class="sbx-attachments">
      <span class="hint">Attachments:</span>
      <ul>
        {state.data.map((a) => (
          <li key={a.id}>
            <a href={a.download_path} download={a.filename || "attachment"}>
              {a.filename || "(unnamed)"}
            </a>{" "}
            <span class="hint">
              {a.content_type}, {a.attachment_human_size}
              {a.attachment_type === "inline" ? ", inline" : ""}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

const WIDTHS = [
  { id: "mobile", label: "Mobile", width: "375px" },
  { id: "tablet", label: "Tablet", width: "768px" },
  { id: "desktop", label: "Desktop", width: "100%" },
];

// Captured HTML runs in an iframe with every sandbox restriction (sandbox="": no scripts, no same origin, no
// forms, no popups), from the API's body.html (served with CSP sandbox too). It is never put into our DOM.
function HtmlPreview({ src }: { src: string }) {
  const [width, setWidth] = useState("desktop");
  const current = WIDTHS.find((w) => w.id === width) ?? WIDTHS[2];
  return (
    <div class="sbx-preview">
      <div class="row" role="group" aria-label="Preview width">
        {WIDTHS.map((w) => (
          <button
            key={w.id}
            type="button"
            class={w.id === width ? "small selected-toggle" : "small"}
            aria-pressed={w.id === width}
            onClick={() => setWidth(w.id)}
          >
            {w.label} {w.id === "desktop" ? "100%" : w.width.replace("px", "")}
          </button>
        ))}
      </div>
      <div class="sbx-preview-frame">
        <iframe
          title="HTML preview"
          sandbox=""
          src={src}
          referrerpolicy="no-referrer"
          style={{ width: current.width }}
        />
      </div>
    </div>
  );
}

export function TextBody({ url, label }: { url: string; label: string }) {
  const body = useAsync(() => api.get<string>(url), [url]);
  if (body.error) return <ErrorBanner error={body.error} />;
  if (body.data === undefined) return <Loading />;
  return (
    <pre class="sbx-pre" aria-label={label} tabIndex={0}>
      {typeof body.data === "string" ? body.data : JSON.stringify(body.data, null, 2)}
    </pre>
  );
}

function ForwardForm({ inbox, message, onDone }: { inbox: Inbox; message: Message; onDone: () => void }) {
  const [email, setEmail] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const result = await api.post<{ message?: string }>(messagePath(inbox.id, message.id, "/forward"), { email });
      setDone(result?.message ?? "Forwarded.");
    });
  };
  return (
    <form onSubmit={submit}>
      <p class="hint">
        Addresses must be confirmed for forwarding from this sandbox first (Settings → Forwarding).
      </p>
      <Field label="Forward to">
        {(id) => (
          <input
            id={id}
            ref={input}
            type="email"
            required
            value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        )}
      </Field>
      <ErrorBanner error={action.error} />
      {done && (
        <p class="sbx-success" role="status">
          {done}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          Forward
        </button>
        <button type="button" onClick={onDone}>
          Close
        </button>
      </div>
    </form>
  );
}
