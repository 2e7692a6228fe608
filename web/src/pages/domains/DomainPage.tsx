// One sending domain: the DNS records to publish with their check results and exports, the domain's settings,
// and how to send through it (SMTP and API). Deleting asks first.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { formatDate } from "../../lib/format";
import { Badge, ConfirmButton, CopyField, ErrorBanner, Loading, TabPanel, Tabs } from "../../components/ui";
import { RecordsTab } from "./RecordsTab";
import { SettingsTab } from "./SettingsTab";
import { IntegrationTab } from "./IntegrationTab";
import { domainState, domainsPath, type CreatedDomain, type SendingDomain } from "./model";

// The token created with a domain is shown only in the create answer: keep it for the page the form opens.
const createdTokens = new Map<number, CreatedDomain["api_token"]>();
export function rememberCreatedToken(domain: CreatedDomain) {
  if (domain.api_token) createdTokens.set(domain.id, domain.api_token);
}

const TABS = [
  { id: "records", label: "DNS records" },
  { id: "settings", label: "Settings" },
  { id: "integration", label: "Integration" },
];

export function DomainPage({ id, tab }: { id: number; tab: string }) {
  const domain = useAsync(() => api.get<SendingDomain>(domainsPath(`/${id}`)), [id]);
  const [token, setToken] = useState(() => createdTokens.get(id));
  const remove = useAction();
  const selected = TABS.some((t) => t.id === tab) ? tab : "records";
  const d = domain.data;

  // Until the domain is verified, a visible page refreshes itself: each GET also schedules a DNS check when
  // the last one is older than a minute, so published records turn to pass without pressing anything.
  const waiting = !!d && !d.dns_verified && !d.demo;
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") domain.reload();
    }, 20000);
    return () => clearInterval(timer);
  }, [waiting, domain.reload]);

  const destroy = async () => {
    const done = await remove.run(() => api.del(domainsPath(`/${id}`)).then(() => true));
    if (done) navigate("/domains");
  };

  return (
    <section class="dom-domain-page">
      <nav aria-label="Breadcrumb" class="dom-breadcrumb">
        <a href="#/domains">Sending Domains</a> <span aria-hidden="true">/</span>
      </nav>
      <header class="page-header">
        <h1>{d ? d.domain_name : `Domain ${id}`}</h1>
        {d && <DomainBadges domain={d} />}
        <div class="page-actions">
          {d && d.permissions.can_destroy && !d.demo && (
            <ConfirmButton
              label="Delete domain"
              confirmLabel={`Delete ${d.domain_name}`}
              onConfirm={destroy}
              disabled={remove.busy}
            />
          )}
        </div>
      </header>
      <ErrorBanner error={remove.error} onDismiss={() => remove.setError(null)} />
      <ErrorBanner error={domain.error} />
      {token && (
        <div class="panel dom-created-token" role="status">
          <h2>Domain added</h2>
          <p>
            This domain comes with its own API token (Domain Admin on this domain only). It is shown only now — copy it
            before leaving the page.
          </p>
          <CopyField label={token.name} value={token.token} secret />
          <button
            type="button"
            class="small"
            onClick={() => {
              createdTokens.delete(id);
              setToken(undefined);
            }}
          >
            I have copied it
          </button>
        </div>
      )}
      {!d && domain.loading && <Loading />}
      {d && (
        <>
          <Tabs
            label="Domain sections"
            tabs={TABS}
            selected={selected}
            onSelect={(t) => navigate(`/domains/${id}/${t}`, { replace: true })}
          />
          <TabPanel id={selected}>
            {selected === "records" && <RecordsTab domain={d} onChange={domain.setData} />}
            {selected === "settings" && <SettingsTab domain={d} onChange={domain.setData} />}
            {selected === "integration" && <IntegrationTab domain={d} />}
          </TabPanel>
        </>
      )}
    </section>
  );
}

function DomainBadges({ domain }: { domain: SendingDomain }) {
  const state = domainState(domain);
  return (
    <span class="row" data-testid="domain-state">
      <Badge kind={state.kind}>{state.label}</Badge>
      {domain.dns_verified_at && <span class="hint">verified {formatDate(domain.dns_verified_at)}</span>}
    </span>
  );
}
