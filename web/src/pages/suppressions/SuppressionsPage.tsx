// Suppressions: addresses live sending will not deliver to (hard bounces, spam complaints, unsubscribes and
// manual entries). Filter the list (kept in the route query), add addresses by hand or from a CSV file,
// export it as CSV, and reactivate an address (the API's DELETE) so mail to it goes out again.
import { useMemo, useRef, useState } from "preact/hooks";
import { accountPath, api } from "../../lib/api";
import { useAction, useAsync, useShortcuts } from "../../lib/hooks";
import { routeQuery } from "../../lib/router";
import { formatDate, plural } from "../../lib/format";
import { isAdmin, useSession } from "../../lib/session";
import { Badge, ConfirmButton, Empty, ErrorBanner, Field, Loading, Modal, PageHeader } from "../../components/ui";
import { inputValue, loadDomains, localToIso, setRouteQuery, useOnChange, type SendingDomain } from "../logs/shared";
import "../logs/logs.css";
import "./suppressions.css";

interface Suppression {
  id: string;
  type: string;
  created_at: string;
  email: string;
  sending_stream: string;
  domain_name: string | null;
  message_bounce_category: string | null;
  message_category: string | null;
  message_created_at: string | null;
  message_esp_response: string | null;
  message_sender_email: string | null;
  message_subject: string | null;
}

interface ImportResult {
  imported: number;
  skipped: number;
  errors: { line: number; error: string }[];
}

const TYPES = ["hard bounce", "spam complaint", "unsubscription", "manual import"];
const LIMIT = 1000; // the API's page: the newest 1000 entries
const FULL_ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function typeKind(type: string): "bad" | "warn" | "muted" | "info" {
  if (type === "hard bounce" || type === "spam complaint") return "bad";
  if (type === "unsubscription") return "warn";
  return "muted";
}

const KEYS = ["email", "stream", "domain", "type", "after", "before"];

export function SuppressionsPage({ path }: { path: string }) {
  const { account } = useSession();
  const admin = isAdmin(account);
  const filters = useMemo(() => {
    const q = routeQuery(path);
    return Object.fromEntries(KEYS.map((k) => [k, q.get(k) ?? ""])) as Record<string, string>;
  }, [path]);
  const [draftEmail, setDraftEmail] = useState(filters.email);
  useOnChange(filters.email, setDraftEmail);

  // The API filters by exact address and by time; substrings, stream, domain and type are filtered here.
  const exact = FULL_ADDRESS.test(filters.email.trim()) ? filters.email.trim() : "";
  const serverQuery = new URLSearchParams();
  if (exact) serverQuery.set("email", exact);
  if (filters.after) serverQuery.set("start_time", localToIso(filters.after));
  if (filters.before) serverQuery.set("end_time", localToIso(filters.before));
  const qs = serverQuery.toString();
  const list = useAsync(() => api.get<Suppression[]>(accountPath("/suppressions") + (qs ? `?${qs}` : "")), [qs]);
  const domains = useAsync(loadDomains, []);

  const apply = (next: Record<string, string>) => setRouteQuery("/suppressions", next);
  const set = (key: string, value: string) => apply({ ...filters, [key]: value });

  const all = list.data ?? [];
  const needle = filters.email.trim().toLowerCase();
  const shown = all.filter(
    (s) =>
      (!needle || s.email.toLowerCase().includes(needle)) &&
      (!filters.stream || s.sending_stream === filters.stream) &&
      (!filters.type || s.type === filters.type) &&
      (!filters.domain || (filters.domain === "-" ? !s.domain_name : s.domain_name === filters.domain)),
  );
  const active = KEYS.some((k) => filters[k]);

  const remove = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const reactivate = async (s: Suppression) => {
    const done = await remove.run(() => api.del(accountPath(`/suppressions/${encodeURIComponent(s.id)}`)));
    if (done !== undefined) {
      list.setData(all.filter((x) => x.id !== s.id));
      setNotice(`${s.email} reactivated: mail to it is delivered again.`);
    }
  };

  const exporting = useAction();
  const exportCsv = () =>
    exporting.run(async () => {
      const response = await api.get<Response>(accountPath("/suppressions/export"), {
        raw: true,
        headers: { Accept: "text/csv" },
      });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `suppressions-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });

  const [adding, setAdding] = useState(false);
  const [importing, setImporting] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  useShortcuts(
    {
      "/": () => searchRef.current?.focus(),
      ...(admin ? { n: () => setAdding(true) } : {}),
    },
    [admin],
  );

  return (
    <div class="supp-page">
      <PageHeader title="Suppressions">
        {admin && (
          <>
            <button type="button" class="primary" onClick={() => setAdding(true)} aria-keyshortcuts="n">
              Add addresses
            </button>
            <button type="button" onClick={() => setImporting(true)}>
              Import CSV
            </button>
          </>
        )}
        <button type="button" onClick={exportCsv} disabled={exporting.busy}>
          {exporting.busy ? "Exporting…" : "Export CSV"}
        </button>
      </PageHeader>
      <p class="hint supp-intro">
        Live sending skips these addresses (the message is logged as <em>not delivered</em> with a reject event).
        Reactivating an address removes it from the list.
      </p>
      <form
        class="panel logs-filters"
        aria-label="Filter suppressions"
        onSubmit={(e) => {
          e.preventDefault();
          set("email", draftEmail.trim());
        }}
      >
        <div class="logs-filter-row">
          <label class="logs-filter">
            <span>Email</span>
            <input
              ref={searchRef}
              type="search"
              placeholder="address or part of it"
              value={draftEmail}
              onInput={(e) => setDraftEmail(inputValue(e))}
            />
          </label>
          <label class="logs-filter">
            <span>Stream</span>
            <select value={filters.stream} onChange={(e) => set("stream", inputValue(e))}>
              <option value="">Any stream</option>
              <option value="any">Both (any)</option>
              <option value="transactional">Transactional</option>
              <option value="bulk">Bulk</option>
            </select>
          </label>
          <label class="logs-filter">
            <span>Domain</span>
            <select value={filters.domain} onChange={(e) => set("domain", inputValue(e))}>
              <option value="">Any domain</option>
              <option value="-">Account-wide only</option>
              {(domains.data ?? []).map((d) => (
                <option key={d.id} value={d.domain_name}>
                  {d.domain_name}
                </option>
              ))}
            </select>
          </label>
          <label class="logs-filter">
            <span>Reason</span>
            <select value={filters.type} onChange={(e) => set("type", inputValue(e))}>
              <option value="">Any reason</option>
              {TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label class="logs-filter">
            <span>Added after</span>
            <input type="datetime-local" value={filters.after} onChange={(e) => set("after", inputValue(e))} />
          </label>
          <label class="logs-filter">
            <span>Added before</span>
            <input type="datetime-local" value={filters.before} onChange={(e) => set("before", inputValue(e))} />
          </label>
          <button type="submit">Search</button>
          <button type="button" disabled={!active} onClick={() => apply({})}>
            Clear filters
          </button>
        </div>
        <span class="hint" role="status" aria-live="polite">
          {list.data &&
            (all.length >= LIMIT && !exact
              ? `Showing ${shown.length} of the newest ${LIMIT} entries — type a full address to search them all, or export the CSV.`
              : `${plural(shown.length, "address", "addresses")}${active ? " match" : ""}`)}
        </span>
      </form>
      <ErrorBanner error={list.error} />
      <ErrorBanner error={remove.error} onDismiss={() => remove.setError(null)} />
      <ErrorBanner error={exporting.error} onDismiss={() => exporting.setError(null)} />
      {notice && (
        <div class="supp-notice" role="status">
          {notice}{" "}
          <button type="button" class="link" onClick={() => setNotice(null)} aria-label="Dismiss notice">
            ×
          </button>
        </div>
      )}
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && shown.length === 0 ? (
        <Empty>{active ? "No suppressions match these filters." : "The suppression list is empty."}</Empty>
      ) : (
        shown.length > 0 && (
          <table class="supp-table" aria-label="Suppressed addresses">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Reason</th>
                <th scope="col">Stream</th>
                <th scope="col">Domain</th>
                <th scope="col">Added</th>
                <th scope="col">Details</th>
                {admin && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.id}>
                  <td>
                    <span class="supp-email">{s.email}</span>{" "}
                    <a class="supp-logs" href={`#/logs?to=${encodeURIComponent(s.email)}`} aria-label={`Email logs for ${s.email}`}>
                      logs
                    </a>
                  </td>
                  <td>
                    <Badge kind={typeKind(s.type)}>{s.type}</Badge>
                  </td>
                  <td>{s.sending_stream === "any" ? "both" : s.sending_stream}</td>
                  <td>{s.domain_name || <span class="hint">all domains</span>}</td>
                  <td class="logs-nowrap">
                    <time dateTime={s.created_at}>{formatDate(s.created_at)}</time>
                  </td>
                  <td class="supp-details">
                    {s.message_bounce_category && <div>Bounce: {s.message_bounce_category}</div>}
                    {s.message_esp_response && <div class="supp-response">{s.message_esp_response}</div>}
                    {s.message_subject && <div class="hint">Subject: {s.message_subject}</div>}
                    {!s.message_bounce_category && !s.message_esp_response && !s.message_subject && (
                      <span class="hint">—</span>
                    )}
                  </td>
                  {admin && (
                    <td class="supp-actions">
                      <ConfirmButton
                        label="Reactivate"
                        confirmLabel={`Reactivate ${s.email}`}
                        danger={false}
                        disabled={remove.busy}
                        onConfirm={() => reactivate(s)}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
      <Modal title="Add addresses to the suppression list" open={adding} onClose={() => setAdding(false)}>
        <AddForm
          domains={domains.data ?? []}
          onAdded={() => list.reload()}
          onDone={(message) => {
            setAdding(false);
            setNotice(message);
            list.reload();
          }}
        />
      </Modal>
      <Modal title="Import suppressions from CSV" open={importing} onClose={() => setImporting(false)}>
        <ImportForm onImported={() => list.reload()} onClose={() => setImporting(false)} />
      </Modal>
    </div>
  );
}

const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;

function describe(result: ImportResult): string {
  const parts = [`${plural(result.imported, "address", "addresses")} added`];
  if (result.skipped) parts.push(`${result.skipped} already on the list`);
  return parts.join(", ") + ".";
}

// One address per line, sent as one CSV import: the API adds the valid ones in one transaction, skips
// addresses already on the list and names the lines it refused.
function AddForm({
  domains,
  onAdded,
  onDone,
}: {
  domains: SendingDomain[];
  onAdded: () => void;
  onDone: (message: string) => void;
}) {
  const [text, setText] = useState("");
  const [stream, setStream] = useState("any");
  const [domainId, setDomainId] = useState("");
  const [lineErrors, setLineErrors] = useState<string[]>([]);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    const emails = lines.filter(Boolean);
    if (!emails.length) {
      action.setError("Enter at least one e-mail address.");
      return;
    }
    const csv = ["email,sending_stream,domain_id", ...emails.map((e) => [csvCell(e), stream, domainId].join(","))].join("\n");
    const response = await action.run(() =>
      api.post<{ data: ImportResult }>(accountPath("/suppressions/import"), { csv }),
    );
    if (!response) return;
    const result = response.data;
    if (result.errors.length) {
      if (result.imported) onAdded();
      // CSV line N is the (N-1)th address; keep only the refused ones in the box for correction.
      const refused = result.errors.map((e) => ({ email: emails[e.line - 2] ?? "", error: e.error }));
      setLineErrors(refused.map((r) => `${r.email}: ${r.error}`));
      setText(refused.map((r) => r.email).join("\n"));
      action.setError(`${describe(result)} ${plural(result.errors.length, "line")} refused:`);
      return;
    }
    onDone(describe(result));
  };
  return (
    <form onSubmit={submit} class="supp-form">
      <ErrorBanner error={action.error} />
      {lineErrors.length > 0 && (
        <ul class="supp-line-errors" aria-label="Refused lines">
          {lineErrors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      )}
      <Field label="E-mail addresses" hint="One per line.">
        {(id) => (
          <textarea
            id={id}
            rows={8}
            required
            autoFocus
            value={text}
            onInput={(e) => setText(inputValue(e))}
            placeholder={"ada@example.com\nbob@example.org"}
          />
        )}
      </Field>
      <div class="row">
        <Field label="Stream">
          {(id) => (
            <select id={id} value={stream} onChange={(e) => setStream(inputValue(e))}>
              <option value="any">Both streams</option>
              <option value="transactional">Transactional</option>
              <option value="bulk">Bulk</option>
            </select>
          )}
        </Field>
        <Field label="Sending domain">
          {(id) => (
            <select id={id} value={domainId} onChange={(e) => setDomainId(inputValue(e))}>
              <option value="">All domains</option>
              {domains.map((d) => (
                <option key={d.id} value={String(d.id)}>
                  {d.domain_name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? "Adding…" : "Add to suppressions"}
        </button>
      </div>
    </form>
  );
}

function ImportForm({ onImported, onClose }: { onImported: () => void; onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    const text = await file.text();
    const response = await action.run(() =>
      api.post<{ data: ImportResult }>(accountPath("/suppressions/import"), text, {
        headers: { "Content-Type": "text/csv" },
      }),
    );
    if (response) {
      setResult(response.data);
      onImported();
    }
  };
  return (
    <form onSubmit={submit} class="supp-form">
      <p class="hint">
        A header row with an <code>email</code> column is required; <code>sending_stream</code> (transactional, bulk
        or any) and <code>domain_id</code> or <code>domain_name</code> are optional. Valid rows are added together;
        addresses already on the list are skipped.
      </p>
      <ErrorBanner error={action.error} />
      <Field label="CSV file">
        {(id) => (
          <input
            id={id}
            type="file"
            accept=".csv,text/csv"
            required
            onChange={(e) => {
              setFile((e.target as HTMLInputElement).files?.[0] ?? null);
              setResult(null);
            }}
          />
        )}
      </Field>
      {result && (
        <div class="supp-result" role="status">
          <p>{describe(result)}</p>
          {result.errors.length > 0 && (
            <ul class="supp-line-errors" aria-label="Refused lines">
              {result.errors.map((e) => (
                <li key={e.line}>
                  Line {e.line}: {e.error}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={!file || action.busy}>
          {action.busy ? "Importing…" : "Import"}
        </button>
        <button type="button" onClick={onClose}>
          {result ? "Done" : "Cancel"}
        </button>
      </div>
    </form>
  );
}
