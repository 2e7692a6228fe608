// The DNS records a domain needs, each with its last check result, a re-check button, exports for BIND,
// Route 53 and Cloudflare (as the API produces them), and the setup instructions by email.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync, useShortcuts } from "../../lib/hooks";
import { formatDate } from "../../lib/format";
import { useSession } from "../../lib/session";
import { Badge, ConfirmButton, ErrorBanner, Loading, TabPanel, Tabs } from "../../components/ui";
import { CodeBlock, SmallCopy, type Lang } from "./highlight";
import { RECORD_LABELS, domainsPath, recordStatus, type DnsRecord, type SendingDomain } from "./model";

export function RecordsTab({ domain, onChange }: { domain: SendingDomain; onChange: (d: SendingDomain) => void }) {
  const check = useAction();
  const rotate = useAction();
  const recheck = async () => {
    const fresh = await check.run(() => api.post<SendingDomain>(domainsPath(`/${domain.id}/verify`)));
    if (fresh) onChange(fresh);
  };
  useShortcuts({ c: () => !check.busy && !domain.demo && recheck() }, [domain.id, check.busy]);
  const records = domain.dns_records;
  const failing = records.filter((r) => r.required && r.status !== "pass").length;
  const hasStandby = records.some((r) => r.key === "dkim2" || r.key === "dkim1");

  return (
    <div class="dom-records-tab">
      <div class="panel dom-records-summary">
        <div class="grow">
          {domain.demo ? (
            <p>The demo domain needs no DNS records; it can send only to your account's own addresses.</p>
          ) : domain.dns_verified && domain.compliance_status === "pending" ? (
            <p>All required records pass. An operator of this Postroom must approve the domain before it can send.</p>
          ) : domain.dns_verified && ["suspended", "non_compliant"].includes(domain.compliance_status) ? (
            <p>All required records pass, but an operator of this Postroom has stopped the domain from sending.</p>
          ) : domain.dns_verified ? (
            <p>All required records pass. The domain can send.</p>
          ) : domain.dns_lost ? (
            <p>
              <strong>A required record that passed before fails now:</strong> the domain cannot send until it passes
              again. Check the records marked below.
            </p>
          ) : (
            <p>
              Publish the records below at your DNS provider, then re-check.{" "}
              {failing > 0 && <strong>{failing === 1 ? "1 required record is" : `${failing} required records are`} not passing yet.</strong>}
            </p>
          )}
          <p class="hint" data-testid="checked-at">
            Last checked: {formatDate(domain.dns_checked_at)}.{" "}
            {domain.dns_verified
              ? "Postroom re-checks verified domains daily."
              : "Postroom re-checks unverified domains hourly; this page refreshes every 20 seconds while it is open."}
          </p>
        </div>
        {!domain.demo && (
          <button type="button" class="primary" onClick={recheck} disabled={check.busy} aria-keyshortcuts="c">
            {check.busy ? "Checking DNS…" : "Re-check DNS"}
          </button>
        )}
      </div>
      <ErrorBanner error={check.error} onDismiss={() => check.setError(null)} />
      <div aria-live="polite" class="visually-hidden">
        {check.busy ? "Checking DNS records" : ""}
      </div>

      {records.length > 0 && (
        <table class="dom-records-table" aria-label="DNS records">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Type</th>
              <th scope="col">Host</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <RecordRow key={r.key} record={r} domainName={domain.domain_name} />
            ))}
          </tbody>
        </table>
      )}
      {records.length > 0 && (
        <p class="hint">
          Host is relative to {domain.domain_name} (most DNS providers want it this way); the full name is shown below
          it. Press <kbd>c</kbd> to re-check.
        </p>
      )}

      {!domain.demo && <Exports domain={domain} />}
      {!domain.demo && domain.permissions.can_update && <SendInstructions domain={domain} />}
      {!domain.demo && domain.permissions.can_update && hasStandby && (
        <section class="panel" aria-labelledby="dkim-rotation-title">
          <h2 id="dkim-rotation-title">DKIM key rotation</h2>
          <p class="hint">
            Makes the standby DKIM selector active once its record passes, retires the old key and creates a new standby
            key: publish its record before the next rotation.
          </p>
          <ConfirmButton
            label="Rotate DKIM key"
            confirmLabel="Rotate now"
            danger={false}
            disabled={rotate.busy}
            onConfirm={async () => {
              const fresh = await rotate.run(() => api.post<SendingDomain>(domainsPath(`/${domain.id}/dkim_rotation`)));
              if (fresh) onChange(fresh);
            }}
          />
          <ErrorBanner error={rotate.error} onDismiss={() => rotate.setError(null)} />
        </section>
      )}
    </div>
  );
}

function hostOf(record: DnsRecord, domainName: string): string {
  if (record.name && record.name !== "@") return record.name;
  return record.domain === domainName || !record.name ? "@" : record.name;
}

function RecordRow({ record, domainName }: { record: DnsRecord; domainName: string }) {
  const status = recordStatus(record.status);
  const host = hostOf(record, domainName);
  return (
    <tr data-testid={`record-${record.key}`} data-status={record.status}>
      <td class="dom-record-status">
        <Badge kind={status.kind}>{status.label}</Badge>
        <div class="dom-record-kind">{RECORD_LABELS[record.key] ?? record.key}</div>
        {!record.required && <div class="hint">optional</div>}
      </td>
      <td>
        <code>{record.type}</code>
      </td>
      <td class="record-host">
        <div class="dom-record-cell">
          <code class="dom-record-value">{host}</code>
          <SmallCopy value={host} label={`Copy host of ${record.key}`} />
        </div>
        <div class="hint mono">{record.domain}</div>
      </td>
      <td class="record-value-cell">
        <div class="dom-record-cell">
          <code class="dom-record-value">{record.value}</code>
          <SmallCopy value={record.value} label={`Copy value of ${record.key}`} />
        </div>
        {record.reason && record.status !== "pass" && <div class="dom-record-reason">{record.reason}</div>}
        {record.found && record.status !== "pass" && (
          <div class="hint">
            Found: <code>{record.found}</code>
          </div>
        )}
      </td>
    </tr>
  );
}

const EXPORTS: { id: string; label: string; lang: Lang; help: string }[] = [
  { id: "bind", label: "BIND zone", lang: "zone", help: "Paste into your zone file, or import it where your provider accepts a BIND zone (Cloudflare: DNS → Records → Import)." },
  {
    id: "route53",
    label: "Route 53",
    lang: "json",
    help: "A ChangeBatch of UPSERTs: aws route53 change-resource-record-sets --hosted-zone-id ZONE_ID --change-batch file://records.json",
  },
  {
    id: "cloudflare",
    label: "Cloudflare",
    lang: "json",
    help: "One body per record for POST https://api.cloudflare.com/client/v4/zones/ZONE_ID/dns_records (or use the BIND export with Cloudflare's import).",
  },
];

function Exports({ domain }: { domain: SendingDomain }) {
  const [format, setFormat] = useState("bind");
  const spec = EXPORTS.find((e) => e.id === format)!;
  // Reloads when the records change (a rotation, a re-check that found a new state).
  const recordsKey = domain.dns_records.map((r) => `${r.key}=${r.value}`).join("|");
  const text = useAsync(async () => {
    const body = await api.get<unknown>(domainsPath(`/${domain.id}/dns_records?format=${format}`));
    return typeof body === "string" ? body : JSON.stringify(body, null, 2);
  }, [domain.id, format, recordsKey]);
  const download = () => {
    if (!text.data) return;
    const blob = new Blob([text.data], { type: spec.lang === "json" ? "application/json" : "text/plain" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${domain.domain_name}-${format}.${spec.lang === "json" ? "json" : "zone"}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <section class="panel dom-exports" aria-labelledby="exports-title">
      <h2 id="exports-title">Export the records</h2>
      <Tabs label="Export format" tabs={EXPORTS} selected={format} onSelect={setFormat} />
      <TabPanel id={format}>
        <p class="hint">{spec.help}</p>
        <ErrorBanner error={text.error} />
        {text.loading && !text.data ? (
          <Loading />
        ) : (
          text.data !== undefined && (
            <>
              <CodeBlock code={text.data} lang={spec.lang} label={`${spec.label} export`} />
              <button type="button" class="small" onClick={download}>
                Download
              </button>
            </>
          )
        )}
      </TabPanel>
    </section>
  );
}

function SendInstructions({ domain }: { domain: SendingDomain }) {
  const { session } = useSession();
  const [email, setEmail] = useState(session.user.email);
  const [sent, setSent] = useState("");
  const { busy, error, setError, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setSent("");
    const ok = await run(() =>
      api.post(domainsPath(`/${domain.id}/send_setup_instructions`), { email: email.trim() }).then(() => true),
    );
    if (ok) setSent(email.trim());
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="instructions-title">
      <h2 id="instructions-title">Send the setup instructions</h2>
      <p class="hint">For whoever manages your DNS: the records as a table and a BIND snippet, by email.</p>
      <div class="row">
        <label for="instructions-email">Email address</label>
        <input
          id="instructions-email"
          type="email"
          class="grow"
          required
          value={email}
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy || !email.trim()}>
          {busy ? "Sending…" : "Send instructions"}
        </button>
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div role="status">
        {sent && (
          <p class="dom-ok-text">
            Instructions for {sent} are in the account's <a href="#/sandbox">System mail</a> sandbox: Postroom captures
            its own system email there instead of delivering it.
          </p>
        )}
      </div>
    </form>
  );
}
