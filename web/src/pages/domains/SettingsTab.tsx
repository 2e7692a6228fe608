// A domain's settings: tracking, unsubscribe footers, Auto BCC and alerts, saved with one PATCH.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { ErrorBanner } from "../../components/ui";
import { domainsPath, type SendingDomain } from "./model";

type Flag =
  | "open_tracking_enabled"
  | "click_tracking_enabled"
  | "custom_domain_tracking_enabled"
  | "auto_unsubscribe_link_enabled"
  | "bulk_unsubscribe_footer_enabled"
  | "health_alerts_enabled"
  | "critical_alerts_enabled";

const FLAGS: Flag[] = [
  "open_tracking_enabled",
  "click_tracking_enabled",
  "custom_domain_tracking_enabled",
  "auto_unsubscribe_link_enabled",
  "bulk_unsubscribe_footer_enabled",
  "health_alerts_enabled",
  "critical_alerts_enabled",
];

interface Draft extends Record<Flag, boolean> {
  alert_recipient_email: string;
  bcc_emails: string; // one a line
  bcc_header_name: string;
  bcc_header_value: string;
}

function draftOf(d: SendingDomain): Draft {
  return {
    open_tracking_enabled: d.open_tracking_enabled,
    click_tracking_enabled: d.click_tracking_enabled,
    custom_domain_tracking_enabled: d.custom_domain_tracking_enabled,
    auto_unsubscribe_link_enabled: d.auto_unsubscribe_link_enabled,
    bulk_unsubscribe_footer_enabled: d.bulk_unsubscribe_footer_enabled,
    health_alerts_enabled: d.health_alerts_enabled,
    critical_alerts_enabled: d.critical_alerts_enabled,
    alert_recipient_email: d.alert_recipient_email ?? "",
    bcc_emails: (d.auto_bcc?.emails ?? []).join("\n"),
    bcc_header_name: d.auto_bcc?.header_name ?? "",
    bcc_header_value: d.auto_bcc?.header_value ?? "",
  };
}

const splitEmails = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((e) => e.trim())
    .filter(Boolean);

export function SettingsTab({ domain, onChange }: { domain: SendingDomain; onChange: (d: SendingDomain) => void }) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(domain));
  const [saved, setSaved] = useState(false);
  const { busy, error, setError, run } = useAction();
  const readOnly = !domain.permissions.can_update;
  const original = draftOf(domain);
  const dirty = JSON.stringify(original) !== JSON.stringify(draft);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [key]: value }));
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    // Only what changed: the server derives some settings from others (click tracking turns the custom tracking
    // domain on), and an unchanged value must not undo that.
    const changes: Record<string, unknown> = {};
    for (const key of FLAGS) if (draft[key] !== original[key]) changes[key] = draft[key];
    if (draft.alert_recipient_email !== original.alert_recipient_email)
      changes.alert_recipient_email = draft.alert_recipient_email.trim() || null;
    if (
      draft.bcc_emails !== original.bcc_emails ||
      draft.bcc_header_name !== original.bcc_header_name ||
      draft.bcc_header_value !== original.bcc_header_value
    )
      changes.auto_bcc = {
        emails: splitEmails(draft.bcc_emails),
        header_name: draft.bcc_header_name.trim(),
        header_value: draft.bcc_header_value.trim(),
      };
    const body = { sending_domain: changes };
    const fresh = await run(() => api.patch<SendingDomain>(domainsPath(`/${domain.id}`), body));
    if (fresh) {
      onChange(fresh);
      setDraft(draftOf(fresh)); // the server's view (click tracking may turn the custom domain on)
      setSaved(true);
    }
  };

  const check = (key: Flag, label: string, hint: string) => (
    <div class="dom-check-field">
      <input
        type="checkbox"
        id={`setting-${key}`}
        checked={draft[key]}
        disabled={readOnly}
        aria-describedby={`setting-${key}-hint`}
        onChange={(e) => set(key, (e.target as HTMLInputElement).checked)}
      />
      <div>
        <label for={`setting-${key}`}>{label}</label>
        <div class="hint" id={`setting-${key}-hint`}>
          {hint}
        </div>
      </div>
    </div>
  );

  return (
    <form class="dom-settings-form" onSubmit={submit} aria-label="Domain settings">
      {readOnly && <p class="hint">You can view these settings; changing them needs admin access to the domain.</p>}
      <fieldset class="panel">
        <legend>Tracking</legend>
        {check("open_tracking_enabled", "Open tracking", "Adds an invisible pixel to HTML emails to record opens.")}
        {check(
          "click_tracking_enabled",
          "Click tracking",
          "Rewrites links to record clicks. Turning it on also turns on the custom tracking domain.",
        )}
        {check(
          "custom_domain_tracking_enabled",
          "Custom tracking domain",
          "Tracked links use mt-link." + domain.domain_name + " (needs the click-tracking CNAME record to pass).",
        )}
      </fieldset>
      <fieldset class="panel">
        <legend>Unsubscribe</legend>
        {check(
          "auto_unsubscribe_link_enabled",
          "Unsubscribe footer on transactional email",
          "Adds an unsubscribe link to transactional messages.",
        )}
        {check(
          "bulk_unsubscribe_footer_enabled",
          "Unsubscribe footer on bulk email",
          "Added when a bulk message's HTML has no unsubscribe link of its own (__unsubscribe_url__ is replaced per recipient).",
        )}
      </fieldset>
      <fieldset class="panel">
        <legend>Auto BCC</legend>
        <div class="field">
          <label for="setting-bcc-emails">BCC addresses</label>
          <textarea
            id="setting-bcc-emails"
            rows={3}
            disabled={readOnly}
            aria-describedby="setting-bcc-emails-hint"
            value={draft.bcc_emails}
            onInput={(e) => set("bcc_emails", (e.target as HTMLTextAreaElement).value)}
          />
          <div class="hint" id="setting-bcc-emails-hint">
            Up to 10 addresses, one a line: each gets a copy of every message sent from this domain.
          </div>
        </div>
        <div class="row">
          <div class="field grow">
            <label for="setting-bcc-header-name">Header name</label>
            <input
              id="setting-bcc-header-name"
              placeholder="X-Auto-Bcc"
              disabled={readOnly}
              value={draft.bcc_header_name}
              onInput={(e) => set("bcc_header_name", (e.target as HTMLInputElement).value)}
            />
          </div>
          <div class="field grow">
            <label for="setting-bcc-header-value">Header value</label>
            <input
              id="setting-bcc-header-value"
              disabled={readOnly}
              value={draft.bcc_header_value}
              onInput={(e) => set("bcc_header_value", (e.target as HTMLInputElement).value)}
            />
          </div>
        </div>
        <div class="hint">An optional X- header added to the BCC copies, so they can be told apart.</div>
      </fieldset>
      <fieldset class="panel">
        <legend>Alerts</legend>
        <p class="hint">Kept with the domain as Mailtrap keeps them; this Postroom version does not send alert emails yet.</p>
        {check("health_alerts_enabled", "Health alerts", "Email when the domain's delivery health worsens.")}
        {check("critical_alerts_enabled", "Critical alerts", "Email when sending from the domain is at risk (lost DNS records, suspension).")}
        <div class="field">
          <label for="setting-alert-email">Alert recipient</label>
          <input
            id="setting-alert-email"
            type="email"
            placeholder="ops@example.com"
            disabled={readOnly}
            value={draft.alert_recipient_email}
            onInput={(e) => set("alert_recipient_email", (e.target as HTMLInputElement).value)}
          />
        </div>
      </fieldset>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {!readOnly && (
        <div class="row dom-form-actions">
          <button type="submit" class="primary" disabled={busy || !dirty}>
            {busy ? "Saving…" : "Save settings"}
          </button>
          <button type="button" disabled={busy || !dirty} onClick={() => setDraft(original)}>
            Discard changes
          </button>
          <span role="status" class="dom-ok-text">
            {saved && !dirty ? "Settings saved." : ""}
          </span>
        </div>
      )}
    </form>
  );
}
