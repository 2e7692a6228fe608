// Tech Info: the message's key headers, the Bcc recipients (envelope recipients missing from To and Cc), the SMTP
// transaction, the template it came from, and its List-Unsubscribe set-up.
import { api } from "../../lib/api";
import { useAsync } from "../../lib/hooks";
import { Badge, ErrorBanner, Loading } from "../../components/ui";
import { messagePath, type Inbox, type Message } from "./types";

interface TechInfoData {
  headers: Record<string, string>;
  bcc: ({ email: string; name?: string } | string)[];
  bcc_note?: string;
  smtp: null | {
    mail_from_addr?: string;
    rcpt_to_addrs?: string[];
    client_ip?: string;
    helo?: string;
    tls?: unknown;
    auth?: unknown; // docs/api.md's name
    auth_user?: string; // what the server sends
    via?: string;
    problems?: string[]; // what the MIME parser found wrong with the message
  };
  template: { id: number; variables: unknown } | null;
  list_unsubscribe?: {
    present: boolean;
    http_uris: string[];
    mailto_uris: string[];
    post: boolean | string;
    one_click: boolean;
    problems: string[];
  };
}

const HEADER_LABELS: Record<string, string> = {
  message_id: "Message-ID",
  date: "Date",
  x_mailer: "X-Mailer",
  sender: "Sender",
  from: "From",
  to: "To",
  cc: "Cc",
  reply_to: "Reply-To",
  return_path: "Return-Path",
};

const show = (v: unknown): string =>
  v === null || v === undefined || v === "" ? "—" : typeof v === "string" ? v : typeof v === "boolean" ? (v ? "yes" : "no") : JSON.stringify(v);

export function TechInfo({ inbox, message }: { inbox: Inbox; message: Message }) {
  const info = useAsync(() => api.get<TechInfoData>(messagePath(inbox.id, message.id, "/tech_info")), [
    inbox.id,
    message.id,
  ]);
  if (info.error) return <ErrorBanner error={info.error} />;
  const t = info.data;
  if (!t) return <Loading />;
  const lu = t.list_unsubscribe;
  const smtp: NonNullable<TechInfoData["smtp"]> = t.smtp ?? {};
  return (
    <div class="sbx-tech">
      <h3>Headers</h3>
      <table class="sbx-table sbx-kv">
        <tbody>
          {Object.entries(t.headers).map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{HEADER_LABELS[k] ?? k}</th>
              <td class="mono">{show(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Bcc</h3>
      {t.bcc.length === 0 ? (
        <p class="hint">No Bcc recipients.</p>
      ) : (
        <ul>
          {t.bcc.map((b, i) => (
            <li key={i} class="mono">
              {typeof b === "string" ? b : b.name ? `${b.name} <${b.email}>` : b.email}
            </li>
          ))}
        </ul>
      )}
      {t.bcc_note && <p class="hint">{t.bcc_note}</p>}
      <h3>SMTP</h3>
      {t.smtp === null ? (
        <p class="hint">No SMTP transaction recorded for this message.</p>
      ) : (
      <table class="sbx-table sbx-kv">
        <tbody>
          <tr>
            <th scope="row">Received via</th>
            <td>{show(smtp.via)}</td>
          </tr>
          <tr>
            <th scope="row">MAIL FROM</th>
            <td class="mono">{show(smtp.mail_from_addr)}</td>
          </tr>
          <tr>
            <th scope="row">RCPT TO</th>
            <td class="mono">{(smtp.rcpt_to_addrs ?? []).join(", ") || "—"}</td>
          </tr>
          <tr>
            <th scope="row">Client IP</th>
            <td class="mono">{show(smtp.client_ip)}</td>
          </tr>
          <tr>
            <th scope="row">HELO</th>
            <td class="mono">{show(smtp.helo)}</td>
          </tr>
          <tr>
            <th scope="row">TLS</th>
            <td>{show(smtp.tls)}</td>
          </tr>
          <tr>
            <th scope="row">AUTH user</th>
            <td class="mono">{show(smtp.auth_user ?? smtp.auth)}</td>
          </tr>
        </tbody>
      </table>
      )}
      {smtp.problems && smtp.problems.length > 0 && (
        <>
          <h3>Message problems</h3>
          <ul class="sbx-problems">
            {smtp.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </>
      )}
      <h3>Template</h3>
      {t.template ? (
        <>
          <p>Template {t.template.id}</p>
          <pre class="sbx-pre sbx-pre-small">{JSON.stringify(t.template.variables, null, 2)}</pre>
        </>
      ) : (
        <p class="hint">Not sent from a template.</p>
      )}
      {lu && (
        <>
          <h3>List-Unsubscribe</h3>
          {!lu.present ? (
            <p class="hint">No List-Unsubscribe header.</p>
          ) : (
            <>
              <p class="row">
                <Badge kind={lu.one_click ? "ok" : "warn"}>{lu.one_click ? "one-click (RFC 8058)" : "not one-click"}</Badge>
              </p>
              <ul>
                {[...lu.http_uris, ...lu.mailto_uris].map((u) => (
                  <li key={u} class="mono">
                    {u}
                  </li>
                ))}
              </ul>
              {lu.problems.length > 0 && (
                <ul class="sbx-problems">
                  {lu.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              )}
            </>
          )}
        </>
      )}
    </div>
  );
}
