// A sandbox's settings: SMTP credentials and integration snippets, its own email address, forwarding rules,
// limits, and renaming or deleting it.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { formatBytes, formatDate } from "../../lib/format";
import { Badge, ConfirmButton, CopyButton, CopyField, ErrorBanner, Field, Loading, TabPanel, Tabs } from "../../components/ui";
import { SNIPPETS } from "./snippets";
import { inboxPath, smtpHost, smtpPort, type ForwardingRule, type Inbox } from "./types";

const SECTIONS = [
  { id: "smtp", label: "SMTP & integration" },
  { id: "address", label: "Email address" },
  { id: "forwarding", label: "Forwarding" },
  { id: "limits", label: "Limits" },
  { id: "general", label: "General" },
];

export function InboxSettings({
  inbox,
  section,
  onUpdated,
  onDeleted,
}: {
  inbox: Inbox;
  section: string;
  onUpdated: (inbox: Inbox) => void;
  onDeleted: () => Promise<void>;
}) {
  const selected = SECTIONS.find((s) => s.id === section)?.id ?? "smtp";
  return (
    <div class="sbx-settings">
      <header class="page-header">
        <h1>
          {inbox.name} <span class="hint">settings</span>
        </h1>
        <div class="page-actions">
          <a class="button small" href={`#/sandbox/${inbox.id}`}>
            Back to messages
          </a>
        </div>
      </header>
      <Tabs
        tabs={SECTIONS}
        selected={selected}
        onSelect={(id) => navigate(`/sandbox/${inbox.id}/settings/${id}`, { replace: true })}
        label="Sandbox settings"
      />
      <TabPanel id={selected}>
        {selected === "smtp" && <SmtpSection inbox={inbox} onUpdated={onUpdated} />}
        {selected === "address" && <AddressSection inbox={inbox} onUpdated={onUpdated} />}
        {selected === "forwarding" && <ForwardingSection inbox={inbox} />}
        {selected === "limits" && <LimitsSection inbox={inbox} />}
        {selected === "general" && <GeneralSection inbox={inbox} onUpdated={onUpdated} onDeleted={onDeleted} />}
      </TabPanel>
    </div>
  );
}

function SmtpSection({ inbox, onUpdated }: { inbox: Inbox; onUpdated: (inbox: Inbox) => void }) {
  const action = useAction();
  const [snippet, setSnippet] = useState(SNIPPETS[0].id);
  const settings = { host: smtpHost(inbox), port: smtpPort(inbox), username: inbox.username, password: inbox.password };
  const current = SNIPPETS.find((s) => s.id === snippet) ?? SNIPPETS[0];
  const code = current.code(settings);
  const ports = inbox.smtp_ports?.length ? inbox.smtp_ports : [2525];
  return (
    <div class="sbx-settings-grid">
      <section class="panel" aria-labelledby="sbx-smtp-title">
        <h2 id="sbx-smtp-title">SMTP credentials</h2>
        <CopyField label="Host" value={settings.host} />
        <CopyField label="Port" value={String(settings.port)} />
        {ports.length > 1 && <p class="hint">Also listening on port {ports.slice(1).join(", ")}.</p>}
        <CopyField label="Username" value={inbox.username} />
        <CopyField label="Password" value={inbox.password} secret />
        <p class="hint">
          Auth: PLAIN, LOGIN or CRAM-MD5. TLS: optional STARTTLS. Whatever the recipients, mail sent with these
          credentials lands in this sandbox.
        </p>
        {inbox.pop3_ports.length > 0 && (
          <p class="hint">
            POP3: {inbox.pop3_domain || settings.host}, port {inbox.pop3_ports.join(", ")}, same username and password.
          </p>
        )}
        {inbox.permissions.can_update && (
          <div class="row">
            <ConfirmButton
              label="Reset credentials"
              confirmLabel="Reset: the old ones stop working"
              disabled={action.busy}
              onConfirm={() =>
                action.run(async () => onUpdated(await api.patch<Inbox>(inboxPath(inbox.id, "/reset_credentials"))))
              }
            />
          </div>
        )}
        <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
      </section>
      <section class="panel" aria-labelledby="sbx-int-title">
        <div class="row">
          <h2 id="sbx-int-title">Integration</h2>
          <span class="grow" />
          <label for="sbx-snippet" class="visually-hidden">
            Snippet for
          </label>
          <select id="sbx-snippet" value={snippet} onChange={(e) => setSnippet((e.target as HTMLSelectElement).value)}>
            {SNIPPETS.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
          <CopyButton value={code} label={`Copy ${current.label} snippet`} />
        </div>
        <pre class="sbx-pre sbx-snippet" aria-label={`${current.label} snippet`} tabIndex={0} data-snippet={current.id}>
          {code}
        </pre>
      </section>
    </div>
  );
}

// "<alias>-<hash>": the alias is what the user may edit; the 6-character hash is fixed.
const aliasOf = (emailUsername: string) => emailUsername.replace(/-[a-z0-9]{6}$/i, "");

function AddressSection({ inbox, onUpdated }: { inbox: Inbox; onUpdated: (inbox: Inbox) => void }) {
  const action = useAction();
  const [alias, setAlias] = useState(aliasOf(inbox.email_username));
  const address = `${inbox.email_username}@${inbox.email_domain}`;
  const canUpdate = inbox.permissions.can_update;
  const patch = (suffix: string) => action.run(async () => onUpdated(await api.patch<Inbox>(inboxPath(inbox.id, suffix))));
  return (
    <section class="panel" aria-labelledby="sbx-address-title">
      <div class="row">
        <h2 id="sbx-address-title">Email address</h2>
        <Badge kind={inbox.email_username_enabled ? "ok" : "muted"}>{inbox.email_username_enabled ? "enabled" : "disabled"}</Badge>
      </div>
      <p class="hint">
        Mail sent to this address (without SMTP credentials) lands in this sandbox; <code>+anything</code> before the @
        works too.
      </p>
      <CopyField label="Address" value={address} />
      {canUpdate && (
        <>
          <div class="row">
            <button type="button" onClick={() => patch("/toggle_email_username")} disabled={action.busy}>
              {inbox.email_username_enabled ? "Disable address" : "Enable address"}
            </button>
            <button type="button" onClick={() => patch("/reset_email_username")} disabled={action.busy}>
              Reset to the sandbox name
            </button>
          </div>
          <form
            class="row sbx-inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              action.run(async () => {
                const updated = await api.patch<Inbox>(inboxPath(inbox.id), { inbox: { email_username: alias } });
                onUpdated(updated);
                setAlias(aliasOf(updated.email_username));
              });
            }}
          >
            <Field label="Alias" hint="Latin letters, digits, “-”, “.” and “_”; up to 57 characters.">
              {(id) => (
                <input id={id} value={alias} onInput={(e) => setAlias((e.target as HTMLInputElement).value)} />
              )}
            </Field>
            <button type="submit" disabled={action.busy}>
              Save alias
            </button>
          </form>
        </>
      )}
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
    </section>
  );
}

function ForwardingSection({ inbox }: { inbox: Inbox }) {
  const rules = useAsync(() => api.get<ForwardingRule[]>(inboxPath(inbox.id, "/forwarding_rules")), [inbox.id]);
  const action = useAction();
  const [kind, setKind] = useState<"email" | "domain">("email");
  const [value, setValue] = useState("");
  const [purpose, setPurpose] = useState<"auto" | "manual">("auto");
  const canUpdate = inbox.permissions.can_update;

  const add = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      await api.post(
        inboxPath(inbox.id, "/forwarding_rules"),
        kind === "email" ? { email: value, purpose } : { domain: value },
      );
      setValue("");
      await rules.reload();
    });
  };
  const ruleAction = (run: () => Promise<unknown>) =>
    action.run(async () => {
      await run();
      await rules.reload();
    });

  return (
    <section class="panel" aria-labelledby="sbx-fwd-title">
      <h2 id="sbx-fwd-title">Forwarding</h2>
      <p class="hint">
        Automatic rules forward every captured message addressed (To or Cc) to an active address or domain. Manual
        addresses can be used with a message's Forward button. Addresses confirm by email; domains by a TXT record.
        Forwarded mail comes from <code>{inbox.forward_from_email_address}</code>.
      </p>
      <ErrorBanner error={rules.error} />
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
      {!rules.data ? (
        !rules.error && <Loading />
      ) : rules.data.length === 0 ? (
        <p class="hint">No forwarding rules.</p>
      ) : (
        <table class="sbx-table">
          <thead>
            <tr>
              <th scope="col">Address or domain</th>
              <th scope="col">Use</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.data.map((r) => {
              const target = r.email ?? r.domain ?? "";
              return (
                <tr key={r.id}>
                  <td>
                    <code>{target}</code>
                    {r.dns_record && r.status === "pending" && (
                      <div class="hint">
                        Add a TXT record on <code>{r.dns_record.name}</code>: <code>{r.dns_record.value}</code>{" "}
                        <CopyButton value={r.dns_record.value} label="Copy TXT value" />
                      </div>
                    )}
                  </td>
                  <td>{r.kind === "domain" ? "automatic (domain)" : r.purpose === "auto" ? "automatic" : "manual"}</td>
                  <td>
                    <Badge kind={r.status === "active" ? "ok" : "warn"}>{r.status}</Badge>
                  </td>
                  <td>{formatDate(r.created_at)}</td>
                  <td class="sbx-actions-cell">
                    {canUpdate && r.status === "pending" && r.kind === "email" && (
                      <button
                        type="button"
                        class="small"
                        disabled={action.busy}
                        onClick={() =>
                          ruleAction(() => api.post(inboxPath(inbox.id, `/forwarding_rules/${r.id}/resend_confirmation`)))
                        }
                      >
                        Resend confirmation
                      </button>
                    )}
                    {canUpdate && r.status === "pending" && r.kind === "domain" && (
                      <button
                        type="button"
                        class="small"
                        disabled={action.busy}
                        onClick={() => ruleAction(() => api.post(inboxPath(inbox.id, `/forwarding_rules/${r.id}/verify`)))}
                      >
                        Verify DNS
                      </button>
                    )}
                    {canUpdate && (
                      <button
                        type="button"
                        class="small danger"
                        aria-label={`Remove forwarding to ${target}`}
                        disabled={action.busy}
                        onClick={() => ruleAction(() => api.del(inboxPath(inbox.id, `/forwarding_rules/${r.id}`)))}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {canUpdate && (
        <form class="sbx-inline-form row" onSubmit={add}>
          <Field label="Forward to">
            {(id) => (
              <select id={id} value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as "email" | "domain")}>
                <option value="email">An address</option>
                <option value="domain">A whole domain</option>
              </select>
            )}
          </Field>
          <Field label={kind === "email" ? "Email address" : "Domain"}>
            {(id) => (
              <input
                id={id}
                type={kind === "email" ? "email" : "text"}
                required
                value={value}
                placeholder={kind === "email" ? "qa@example.com" : "example.com"}
                onInput={(e) => setValue((e.target as HTMLInputElement).value)}
              />
            )}
          </Field>
          {kind === "email" && (
            <Field label="Use">
              {(id) => (
                <select id={id} value={purpose} onChange={(e) => setPurpose((e.target as HTMLSelectElement).value as "auto" | "manual")}>
                  <option value="auto">Automatic</option>
                  <option value="manual">Manual only</option>
                </select>
              )}
            </Field>
          )}
          <button type="submit" class="primary" disabled={action.busy}>
            Add rule
          </button>
        </form>
      )}
    </section>
  );
}

function LimitsSection({ inbox }: { inbox: Inbox }) {
  const used = inbox.max_size > 0 ? Math.min(100, (inbox.emails_count / inbox.max_size) * 100) : 0;
  return (
    <section class="panel" aria-labelledby="sbx-limits-title">
      <h2 id="sbx-limits-title">Limits and usage</h2>
      <table class="sbx-table sbx-kv">
        <tbody>
          <tr>
            <th scope="row">Messages kept</th>
            <td>
              {inbox.emails_count} of {inbox.max_size} ({Math.round(used)}%)
              <div class="sbx-meter" role="img" aria-label={`${Math.round(used)}% of the sandbox used`}>
                <span style={{ width: `${used}%` }} />
              </div>
              <div class="hint">When full, the oldest messages are deleted first.</div>
            </td>
          </tr>
          <tr>
            <th scope="row">Unread</th>
            <td>{inbox.emails_unread_count}</td>
          </tr>
          <tr>
            <th scope="row">Largest message</th>
            <td>{formatBytes(inbox.max_message_size)}</td>
          </tr>
          <tr>
            <th scope="row">Messages received</th>
            <td>{inbox.sent_messages_count}</td>
          </tr>
          <tr>
            <th scope="row">Messages forwarded</th>
            <td>{inbox.forwarded_messages_count}</td>
          </tr>
          <tr>
            <th scope="row">Last message</th>
            <td>{formatDate(inbox.last_message_sent_at)}</td>
          </tr>
          <tr>
            <th scope="row">Used</th>
            <td>{inbox.used ? "yes" : "not yet"}</td>
          </tr>
        </tbody>
      </table>
      <p class="hint">
        The sending rate limit per sandbox is set by the server (<code>--sandbox-rate</code>); the API does not report
        it.
      </p>
    </section>
  );
}

function GeneralSection({
  inbox,
  onUpdated,
  onDeleted,
}: {
  inbox: Inbox;
  onUpdated: (inbox: Inbox) => void;
  onDeleted: () => Promise<void>;
}) {
  const [name, setName] = useState(inbox.name);
  const action = useAction();
  const [saved, setSaved] = useState(false);
  return (
    <section class="panel" aria-labelledby="sbx-general-title">
      <h2 id="sbx-general-title">General</h2>
      <form
        class="row sbx-inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          action.run(async () => {
            onUpdated(await api.patch<Inbox>(inboxPath(inbox.id), { inbox: { name } }));
            setSaved(true);
          });
        }}
      >
        <Field label="Sandbox name">
          {(id) => (
            <input
              id={id}
              value={name}
              disabled={!inbox.permissions.can_update}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          )}
        </Field>
        {inbox.permissions.can_update && (
          <button type="submit" disabled={action.busy}>
            Rename
          </button>
        )}
        {saved && (
          <span class="sbx-success" role="status">
            Saved.
          </span>
        )}
      </form>
      {inbox.permissions.can_destroy && (
        <div class="sbx-danger-zone">
          <h3>Delete this sandbox</h3>
          <p class="hint">Its {inbox.emails_count} messages are deleted with it. This cannot be undone.</p>
          <ConfirmButton
            label="Delete sandbox"
            confirmLabel={`Yes, delete ${inbox.name}`}
            disabled={action.busy}
            onConfirm={() =>
              action.run(async () => {
                await api.del(inboxPath(inbox.id));
                await onDeleted();
              })
            }
          />
        </div>
      )}
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
    </section>
  );
}
