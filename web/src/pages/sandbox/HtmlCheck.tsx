// HTML Check: the market support score of the message's HTML, full/partial/no support per family and platform,
// filters by family and platform (each change asks the API again, which recomputes everything), and the
// findings with the clients lacking support and links to the source lines.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api, query } from "../../lib/api";
import { useAsync } from "../../lib/hooks";
import { Badge, ErrorBanner, Loading } from "../../components/ui";
import { messagePath, messageRoute, type Inbox, type Message } from "./types";

interface Breakdown {
  key: string;
  name: string;
  market_share: number;
  full: number;
  partial: number;
  none: number;
  clients: { total: number; full: number; partial: number; none: number };
}

interface Finding {
  slug: string;
  title: string;
  category: string;
  description: string;
  url: string;
  support: "full" | "partial" | "none";
  lines: number[];
  line_count: number;
  notes: string;
  numbered_notes: Record<string, string>;
  email_clients: { desktop: string[]; mobile: string[]; web: string[] };
}

interface Report {
  market_support: number;
  overall: Breakdown;
  families: Breakdown[];
  platforms: Breakdown[];
  findings: Finding[];
  truncated: boolean;
  truncation_reasons: string[];
  data_sources: {
    support: { name: string; url: string; date: string };
    market_share: { name: string; url: string; period: string; date: string };
  };
}

export const FAMILIES = [
  { id: "apple-mail", label: "Apple Mail" },
  { id: "gmail", label: "Gmail" },
  { id: "outlook", label: "Outlook" },
  { id: "yahoo", label: "Yahoo! Mail" },
  { id: "other", label: "Other" },
];
export const PLATFORMS = [
  { id: "desktop", label: "Desktop" },
  { id: "mobile", label: "Mobile" },
  { id: "web", label: "Web" },
];

const pct = (n: number) => `${Math.round(n * 10) / 10}%`;

export function HtmlCheck({ inbox, message }: { inbox: Inbox; message: Message }) {
  const [families, setFamilies] = useState<string[]>(FAMILIES.map((f) => f.id));
  const [platforms, setPlatforms] = useState<string[]>(PLATFORMS.map((p) => p.id));
  const params = {
    families: families.length === FAMILIES.length ? undefined : families.join(","),
    platforms: platforms.length === PLATFORMS.length ? undefined : platforms.join(","),
  };
  // An empty list means "all" to the API: with nothing ticked there is nothing to ask.
  const nothing = families.length === 0 || platforms.length === 0;
  const report = useAsync(
    async () =>
      nothing ? null : api.get<Report>(messagePath(inbox.id, message.id, `/html_check${query(params)}`)),
    [inbox.id, message.id, params.families, params.platforms],
  );
  const toggle = (list: string[], set: (v: string[]) => void, id: string, all: { id: string }[]) => {
    const next = list.includes(id) ? list.filter((x) => x !== id) : [...list, id];
    set(all.map((x) => x.id).filter((x) => next.includes(x)));
  };
  const r = report.data;

  return (
    <div class="sbx-check">
      <div class="sbx-check-filters">
        <fieldset>
          <legend>Email clients</legend>
          {FAMILIES.map((f) => (
            <label key={f.id} class="sbx-check-option">
              <input
                type="checkbox"
                checked={families.includes(f.id)}
                onChange={() => toggle(families, setFamilies, f.id, FAMILIES)}
              />
              {f.label}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Platforms</legend>
          {PLATFORMS.map((p) => (
            <label key={p.id} class="sbx-check-option">
              <input
                type="checkbox"
                checked={platforms.includes(p.id)}
                onChange={() => toggle(platforms, setPlatforms, p.id, PLATFORMS)}
              />
              {p.label}
            </label>
          ))}
        </fieldset>
      </div>
      <ErrorBanner error={report.error} />
      {nothing ? (
        <p class="hint" role="status">
          Tick at least one email client and one platform to check against.
        </p>
      ) : !r ? (
        !report.error && <Loading label="Checking the HTML…" />
      ) : (
        <div class={report.loading || report.error ? "sbx-check-body stale" : "sbx-check-body"} aria-busy={report.loading}>
          <div class="sbx-score-row">
            <div class="sbx-score" data-testid="market-support">
              <span class="sbx-score-value">{pct(r.market_support)}</span>
              <span class="sbx-score-label">Market support</span>
            </div>
            <div class="grow">
              <BreakdownBar b={r.overall} title="All selected clients" />
            </div>
          </div>
          {r.truncated && (
            <p class="hint">
              The HTML is very large; it was checked up to a point: {r.truncation_reasons.join("; ")}.
            </p>
          )}
          <div class="sbx-breakdowns">
            <div>
              <h3>By email client</h3>
              {r.families.map((b) => (
                <BreakdownBar key={b.key} b={b} title={b.name} />
              ))}
            </div>
            <div>
              <h3>By platform</h3>
              {r.platforms.map((b) => (
                <BreakdownBar key={b.key} b={b} title={b.name} />
              ))}
            </div>
          </div>
          <h3>
            Findings <span class="hint">({r.findings.length})</span>
          </h3>
          {r.findings.length === 0 && <p class="hint">Every feature this HTML uses is supported by the selected clients.</p>}
          <ul class="sbx-findings">
            {r.findings.map((f) => (
              <FindingItem key={f.slug} finding={f} inbox={inbox} message={message} />
            ))}
          </ul>
          <p class="hint">
            Support data: <a href={r.data_sources.support.url}>{r.data_sources.support.name}</a> (
            {r.data_sources.support.date}); market share:{" "}
            <a href={r.data_sources.market_share.url}>{r.data_sources.market_share.name}</a> (
            {r.data_sources.market_share.period || r.data_sources.market_share.date}).
          </p>
        </div>
      )}
    </div>
  );
}

function BreakdownBar({ b, title }: { b: Breakdown; title: string }) {
  const label = `${title}: ${pct(b.full)} full, ${pct(b.partial)} partial, ${pct(b.none)} no support`;
  return (
    <div class="sbx-bar-row">
      <span class="sbx-bar-title">{title}</span>
      <div class="sbx-bar" role="img" aria-label={label} title={label}>
        <span class="sbx-bar-full" style={{ width: `${b.full}%` }} />
        <span class="sbx-bar-partial" style={{ width: `${b.partial}%` }} />
        <span class="sbx-bar-none" style={{ width: `${b.none}%` }} />
      </div>
      <span class="sbx-bar-numbers">
        <span class="sbx-n-full">{pct(b.full)}</span> · <span class="sbx-n-partial">{pct(b.partial)}</span> ·{" "}
        <span class="sbx-n-none">{pct(b.none)}</span>
      </span>
    </div>
  );
}

function FindingItem({ finding: f, inbox, message }: { finding: Finding; inbox: Inbox; message: Message }) {
  const groups = (["desktop", "mobile", "web"] as const).filter((g) => f.email_clients[g].length > 0);
  return (
    <li class="sbx-finding">
      <div class="row">
        <strong>{f.title}</strong>
        <Badge kind={f.support === "none" ? "bad" : f.support === "partial" ? "warn" : "ok"}>
          {f.support === "none" ? "not supported" : f.support === "partial" ? "partially supported" : "supported"}
        </Badge>
        <span class="hint">{f.category}</span>
        <span class="grow" />
        {f.url && (
          <a href={f.url} target="_blank" rel="noopener noreferrer">
            caniemail
          </a>
        )}
      </div>
      {f.lines.length > 0 && (
        <div class="sbx-finding-lines">
          <span class="hint">{f.lines.length === 1 ? "Line" : "Lines"}: </span>
          {f.lines.map((n, i) => (
            <span key={n}>
              {i > 0 && ", "}
              <a href={`#${messageRoute(inbox.id, message.id, "source")}?line=${n}`} aria-label={`Line ${n} in HTML Source`}>
                {n}
              </a>
            </span>
          ))}
          {f.line_count > f.lines.length && <span class="hint"> (+{f.line_count - f.lines.length} more)</span>}
        </div>
      )}
      {groups.length > 0 && (
        <dl class="sbx-finding-clients">
          {groups.map((g) => (
            <Fragment key={g}>
              <dt>{g[0].toUpperCase() + g.slice(1)}</dt>
              <dd>{f.email_clients[g].join(", ")}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      {f.notes && <p class="hint sbx-finding-notes">{f.notes}</p>}
    </li>
  );
}
