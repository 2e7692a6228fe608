// Sending domains: the list with each domain's state and an "add domain" form ("#/domains"), and one domain's
// page ("#/domains/:id/:tab": DNS records, settings, integration).
import type { RefObject } from "preact";
import { useRef, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync, useShortcuts } from "../../lib/hooks";
import { match, navigate } from "../../lib/router";
import { isAdmin, useSession } from "../../lib/session";
import { formatDate, plural } from "../../lib/format";
import { Badge, Empty, ErrorBanner, Loading, PageHeader } from "../../components/ui";
import { DomainPage, rememberCreatedToken } from "./DomainPage";
import { domainState, domainsPath, type CreatedDomain, type SendingDomain } from "./model";
import "./domains.css";

export function DomainsPage({ path }: { path: string }) {
  const detail = match("/domains/:id/:tab", path) ?? match("/domains/:id", path);
  if (detail) return <DomainPage key={detail.id} id={Number(detail.id)} tab={detail.tab ?? "records"} />;
  return <DomainsList />;
}

function DomainsList() {
  const { account } = useSession();
  const list = useAsync(() => api.get<{ data: SendingDomain[] }>(domainsPath()).then((r) => r.data), []);
  const inputRef = useRef<HTMLInputElement>(null);
  useShortcuts({ n: () => inputRef.current?.focus(), r: () => list.reload() }, [list.reload]);
  const domains = list.data ?? [];
  return (
    <section class="dom-domains">
      <PageHeader title="Sending Domains">
        <button type="button" onClick={() => list.reload()} disabled={list.loading} aria-keyshortcuts="r">
          {list.loading && list.data ? "Refreshing…" : "Refresh"}
        </button>
      </PageHeader>
      {isAdmin(account) && <AddDomainForm inputRef={inputRef} />}
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : domains.length === 0 && !list.error ? (
        <Empty>No sending domains yet. Add a domain you own to send email from it.</Empty>
      ) : (
        domains.length > 0 && (
          <table class="dom-domains-table" aria-label="Sending domains">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Status</th>
                <th scope="col">DNS records</th>
                <th scope="col">Last checked</th>
              </tr>
            </thead>
            <tbody>
              {domains.map((d) => {
                const state = domainState(d);
                const passing = d.dns_records.filter((r) => r.status === "pass").length;
                return (
                  <tr key={d.id} data-testid={`domain-row-${d.domain_name}`}>
                    <td>
                      <a href={`#/domains/${d.id}/records`} class="dom-domain-link">
                        {d.domain_name}
                      </a>
                    </td>
                    <td>
                      <Badge kind={state.kind}>{state.label}</Badge>
                    </td>
                    <td>
                      {d.demo ? "—" : `${passing} of ${plural(d.dns_records.length, "record")} passing`}
                    </td>
                    <td>{formatDate(d.dns_checked_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )
      )}
      <p class="hint">
        Shortcuts: <kbd>n</kbd> add a domain, <kbd>r</kbd> refresh.
      </p>
    </section>
  );
}

function AddDomainForm({ inputRef }: { inputRef: RefObject<HTMLInputElement> }) {
  const [name, setName] = useState("");
  const { busy, error, setError, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const created = await run(() =>
      api.post<CreatedDomain>(domainsPath(), { sending_domain: { domain_name: name.trim() } }),
    );
    if (created) {
      rememberCreatedToken(created);
      setName("");
      navigate(`/domains/${created.id}/records`);
    }
  };
  return (
    <form class="panel dom-add-domain" onSubmit={submit} aria-label="Add a sending domain">
      <div class="row">
        <label for="new-domain-name" class="dom-add-domain-label">
          Domain name
        </label>
        <input
          id="new-domain-name"
          ref={inputRef}
          class="grow"
          type="text"
          inputMode="url"
          autoComplete="off"
          spellcheck={false}
          placeholder="example.com"
          aria-keyshortcuts="n"
          aria-describedby="new-domain-hint"
          value={name}
          onInput={(e) => {
            setName((e.target as HTMLInputElement).value);
            if (error) setError(null);
          }}
        />
        <button type="submit" class="primary" disabled={busy || !name.trim()}>
          {busy ? "Adding…" : "Add domain"}
        </button>
      </div>
      <div id="new-domain-hint" class="hint">
        A domain you own, without "www." — you will publish a few DNS records there to verify it.
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
    </form>
  );
}
