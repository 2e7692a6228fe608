// How to send through a domain: SMTP credentials and API code samples, for the transactional and the bulk stream.
import { useState } from "preact/hooks";
import { useSession } from "../../lib/session";
import { CopyField, TabPanel, Tabs } from "../../components/ui";
import { CodeBlock } from "./highlight";
import { curlSample, nodeSample, pythonSample, sendUrl, type Stream } from "./samples";
import type { SendingDomain } from "./model";

// What the server may report about its submission listeners (proposed; see the report): used when present.
interface SmtpEndpoint {
  host: string;
  ports: number[];
}
type ReportedSmtp = Partial<Record<Stream, SmtpEndpoint>>;

// Defaults of --smtp and --smtp-bulk (docs/configuration.md) when the server does not say.
const DEFAULT_PORTS: Record<Stream, number> = { transactional: 5587, bulk: 5588 };

const STREAMS = [
  { id: "transactional", label: "Transactional stream" },
  { id: "bulk", label: "Bulk stream" },
];
const LANGS = [
  { id: "curl", label: "cURL" },
  { id: "node", label: "Node.js" },
  { id: "python", label: "Python" },
];

export function IntegrationTab({ domain }: { domain: SendingDomain }) {
  const { session } = useSession();
  const [stream, setStream] = useState<Stream>("transactional");
  const [lang, setLang] = useState("curl");
  const origin = window.location.origin;
  const reported = (domain as unknown as { smtp?: ReportedSmtp }).smtp?.[stream];
  const host = reported?.host ?? window.location.hostname;
  const ports = reported?.ports?.length ? reported.ports.join(", ") : String(DEFAULT_PORTS[stream]);
  const sample = { origin, stream, from: `hello@${domain.domain_name}`, to: session.user.email };
  const code = lang === "curl" ? curlSample(sample) : lang === "node" ? nodeSample(sample) : pythonSample(sample);
  const notReady = !domain.demo && !domain.dns_verified;

  return (
    <div class="dom-integration-tab">
      {notReady && (
        <p class="dom-notice" role="note">
          The domain is not verified yet: sending from it is refused until its required DNS records pass.
        </p>
      )}
      {domain.demo && (
        <p class="dom-notice" role="note">
          The demo domain sends only to your account's own email addresses: enough to try the API and SMTP.
        </p>
      )}
      <Tabs label="Sending stream" tabs={STREAMS} selected={stream} onSelect={(s) => setStream(s as Stream)} />
      <TabPanel id={stream}>
        <p class="hint">
          {stream === "transactional"
            ? "For messages one person triggers: sign-ups, password resets, receipts."
            : "For newsletters and campaigns: List-Unsubscribe headers and the unsubscribe footer are added."}
        </p>
        <section class="panel" aria-labelledby="smtp-title">
          <h2 id="smtp-title">SMTP</h2>
          <CopyField label="Host" value={host} />
          <CopyField label="Port" value={ports} />
          <CopyField label="Username" value="api" />
          <div class="copy-field">
            <span class="copy-label">Password</span>
            <span>
              an API token with access to {domain.domain_name} — create one in{" "}
              <a href="#/settings/tokens">Settings → API tokens</a> (or use the domain's own token, shown when it
              was added).
            </span>
          </div>
          <p class="hint">
            STARTTLS is required before AUTH (PLAIN or LOGIN).
            {!reported &&
              ` The server does not report its submission listeners: host and port shown are this page's host and the default of --smtp${stream === "bulk" ? "-bulk" : ""}; your operator may have configured others.`}
          </p>
        </section>
        <section class="panel" aria-labelledby="api-title">
          <h2 id="api-title">API</h2>
          <CopyField label="Endpoint" value={sendUrl(sample)} />
          <p class="hint">
            Mailtrap's send API: <code>Authorization: Bearer &lt;API token&gt;</code>, the JSON body of Mailtrap's
            /api/send{stream === "bulk" ? " (the bulk stream also answers at the same path with a Host starting bulk.)" : ""}.
          </p>
          <Tabs label="Code sample language" tabs={LANGS} selected={lang} onSelect={setLang} />
          <TabPanel id={lang}>
            <CodeBlock code={code} lang={lang === "curl" ? "shell" : lang === "node" ? "js" : "python"} label={`${lang} sample`} />
          </TabPanel>
        </section>
      </TabPanel>
    </div>
  );
}
