// "Send test": the saved template rendered by the server with the test data, sent either into a sandbox inbox
// (POST /api/send/{inbox_id}) or to a real address through live sending (POST /api/send, needs a verified
// domain for the From address). Unsaved changes are saved first: the server sends what it has stored.
import { useEffect, useState } from "preact/hooks";
import { accountPath, api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import { ErrorBanner } from "../../components/ui";
import type { EmailTemplate } from "./model";

export interface ServerRender {
  messageId: string;
  inboxName: string;
  link: string; // the message in the Email Sandbox page
  htmlUrl: string | null; // the captured HTML (served sandboxed by the API)
}

interface Inbox {
  id: number;
  name: string;
}

type Mode = "sandbox" | "live";

export function SendTest({
  template,
  dirty,
  saveNow,
  variables,
  hasHtml,
  onServerRender,
}: {
  template: EmailTemplate | null;
  dirty: boolean;
  saveNow: () => Promise<EmailTemplate | null>;
  variables: Record<string, unknown>;
  hasHtml: boolean;
  onServerRender: (r: ServerRender | null) => void;
}) {
  const { session } = useSession();
  const inboxes = useAsync(() => api.get<Inbox[]>(accountPath("/inboxes")), []);
  const [mode, setMode] = useState<Mode>("sandbox");
  const [inboxId, setInboxId] = useState("");
  const [from, setFrom] = useState("test@example.com");
  const [to, setTo] = useState(session.user.email);
  const [result, setResult] = useState<{ text: string; link?: string; linkText?: string } | null>(null);
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    if (!inboxId && inboxes.data?.length) setInboxId(String(inboxes.data[0].id));
  }, [inboxes.data]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setResult(null);
    setError(null);
    let current = template;
    if (dirty) {
      current = await saveNow();
      if (!current) return; // the save's errors are shown with the fields
    }
    if (!current) return;
    const body = {
      from: { email: from.trim() },
      to: [{ email: to.trim() }],
      template_uuid: current.uuid,
      template_variables: variables,
    };
    if (mode === "sandbox") {
      const inbox = inboxes.data?.find((i) => String(i.id) === inboxId);
      const sent = await run(() => api.post<{ message_ids: string[] }>(`/api/send/${inboxId}`, body));
      if (!sent) return;
      const messageId = sent.message_ids[0];
      const link = `#/sandbox/${inboxId}/messages/${messageId}`;
      setResult({ text: `Captured in ${inbox?.name ?? `inbox ${inboxId}`} as message ${messageId}.`, link, linkText: "Open in Email Sandbox" });
      onServerRender({
        messageId,
        inboxName: inbox?.name ?? `inbox ${inboxId}`,
        link,
        htmlUrl: hasHtml ? accountPath(`/inboxes/${inboxId}/messages/${messageId}/body.html`) : null,
      });
    } else {
      const sent = await run(() => api.post<{ message_ids: string[] }>("/api/send", body));
      if (!sent) return;
      setResult({ text: `Accepted for delivery to ${to.trim()} (message ${sent.message_ids.join(", ")}).`, link: "#/logs", linkText: "See Email Logs" });
    }
  };

  const noInbox = mode === "sandbox" && !inboxes.loading && !inboxes.data?.length;
  return (
    <form class="panel tpl-send-test" onSubmit={submit} aria-labelledby="send-test-title">
      <h2 id="send-test-title">Send test</h2>
      <fieldset class="tpl-send-mode">
        <legend class="visually-hidden">Send to</legend>
        <label>
          <input type="radio" name="send-mode" checked={mode === "sandbox"} onChange={() => setMode("sandbox")} /> A sandbox inbox
        </label>
        <label>
          <input type="radio" name="send-mode" checked={mode === "live"} onChange={() => setMode("live")} /> A real address
        </label>
      </fieldset>
      {mode === "sandbox" ? (
        <div class="field">
          <label for="send-inbox">Inbox</label>
          <select id="send-inbox" value={inboxId} onChange={(e) => setInboxId((e.target as HTMLSelectElement).value)}>
            {(inboxes.data ?? []).map((i) => (
              <option key={i.id} value={String(i.id)}>
                {i.name}
              </option>
            ))}
          </select>
          <ErrorBanner error={inboxes.error} />
          {noInbox && <p class="hint">No sandbox inbox yet: create one in Email Sandbox.</p>}
        </div>
      ) : (
        <p class="hint">
          Live sending: the From address must be at a verified <a href="#/domains">sending domain</a> of this account.
        </p>
      )}
      <div class="row">
        <div class="field grow">
          <label for="send-from">From</label>
          <input id="send-from" type="email" required value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field grow">
          <label for="send-to">To</label>
          <input id="send-to" type="email" required value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <button type="submit" disabled={busy || !template || noInbox || (mode === "sandbox" && !inboxId)}>
        {busy ? "Sending…" : dirty ? "Save and send test" : "Send test"}
      </button>
      {!template && <p class="hint">Create the template first: the server sends saved templates.</p>}
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div role="status" class="tpl-send-result">
        {result && (
          <p class="tpl-ok-text">
            {result.text} {result.link && <a href={result.link}>{result.linkText}</a>}
          </p>
        )}
      </div>
    </form>
  );
}
