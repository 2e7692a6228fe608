// Spam Analysis: SpamAssassin's score, threshold and rules (the API answers 503 with the reason when spamd is not
// available — shown as it is, never a made-up score), and the blocklist report of the sender's IP and domains.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { Badge, ErrorBanner, Loading } from "../../components/ui";
import { messagePath, type Inbox, type Message } from "./types";

interface SpamReport {
  report: {
    ResponseCode: number;
    ResponseMessage: string;
    Score: number;
    Spam: boolean;
    Threshold: number;
    Details: { Pts: string; RuleName: string; Description: string }[];
  };
}

interface Check {
  item: string;
  type: string;
  query: string;
  status: "listed" | "not_listed" | "error" | "skipped";
  codes: { code: string; meaning: string; error: boolean }[];
  detail: string;
}
interface Blacklists {
  result: "success" | "error";
  domain: string;
  ip: string;
  report: { name: string; url: string; in_black_list: boolean; checks: Check[] }[];
}

export function SpamAnalysis({ inbox, message }: { inbox: Inbox; message: Message }) {
  const spam = useAsync(() => api.get<SpamReport>(messagePath(inbox.id, message.id, "/spam_report")), [
    inbox.id,
    message.id,
  ]);
  return (
    <div class="sbx-spam">
      <section aria-labelledby="sbx-spam-title">
        <h3 id="sbx-spam-title">Spam score</h3>
        {spam.error ? (
          <ErrorBanner error={spam.error} />
        ) : !spam.data ? (
          <Loading label="Asking SpamAssassin…" />
        ) : (
          <SpamScore report={spam.data.report} />
        )}
      </section>
      <BlacklistSection inbox={inbox} message={message} />
    </div>
  );
}

function SpamScore({ report }: { report: SpamReport["report"] }) {
  const details = [...(report.Details ?? [])].sort((a, b) => Number(b.Pts) - Number(a.Pts));
  return (
    <>
      <div class="row sbx-spam-score">
        <div class="sbx-score">
          <span class={`sbx-score-value ${report.Spam ? "bad" : "ok"}`}>{report.Score}</span>
          <span class="sbx-score-label">Score (threshold {report.Threshold})</span>
        </div>
        <Badge kind={report.Spam ? "bad" : "ok"}>{report.Spam ? "Spam" : "Not spam"}</Badge>
        <span class="hint">
          {report.ResponseMessage} · a score at or above the threshold is treated as spam
        </span>
      </div>
      {details.length === 0 ? (
        <p class="hint">No SpamAssassin rule matched.</p>
      ) : (
        <table class="sbx-table">
          <caption class="visually-hidden">SpamAssassin rules that matched</caption>
          <thead>
            <tr>
              <th scope="col">Points</th>
              <th scope="col">Rule</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {details.map((d, i) => (
              <tr key={`${d.RuleName}-${i}`}>
                <td class={Number(d.Pts) > 0 ? "sbx-pts-pos" : "sbx-pts-neg"}>{d.Pts}</td>
                <td>
                  <code>{d.RuleName}</code>
                </td>
                <td>{d.Description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function BlacklistSection({ inbox, message }: { inbox: Inbox; message: Message }) {
  const [refresh, setRefresh] = useState(0);
  const report = useAsync(
    () =>
      api.get<Blacklists>(
        messagePath(inbox.id, message.id, `/blacklists_report${refresh > 0 ? "?refresh=true" : ""}`),
      ),
    [inbox.id, message.id, refresh],
  );
  const action = useAction();
  const r = report.data;
  return (
    <section aria-labelledby="sbx-bl-title">
      <div class="row">
        <h3 id="sbx-bl-title">Blacklists</h3>
        <span class="grow" />
        <button
          type="button"
          class="small"
          disabled={report.loading || action.busy}
          onClick={() => setRefresh((n) => n + 1)}
        >
          Check again
        </button>
      </div>
      <ErrorBanner error={report.error} />
      {!r ? (
        !report.error && <Loading label="Looking up blocklists…" />
      ) : (
        <>
          <p class="row">
            <Badge kind={r.result === "success" ? "ok" : "warn"}>{r.result}</Badge>
            <span>
              Domain <code>{r.domain || "—"}</code>, IP <code>{r.ip || "—"}</code>
            </span>
          </p>
          {r.report.length === 0 ? (
            <p class="hint">No blocklists are configured.</p>
          ) : (
            <table class="sbx-table">
              <caption class="visually-hidden">Blocklist lookups</caption>
              <thead>
                <tr>
                  <th scope="col">List</th>
                  <th scope="col">Result</th>
                  <th scope="col">Checks</th>
                </tr>
              </thead>
              <tbody>
                {r.report.map((list) => (
                  <tr key={list.name}>
                    <td>{list.url ? <a href={list.url}>{list.name}</a> : list.name}</td>
                    <td>
                      <Badge kind={list.in_black_list ? "bad" : "ok"}>{list.in_black_list ? "listed" : "not listed"}</Badge>
                    </td>
                    <td>
                      <ul class="sbx-checks">
                        {list.checks.map((c, i) => (
                          <li key={i}>
                            <code>{c.item}</code>{" "}
                            <Badge
                              kind={
                                c.status === "listed"
                                  ? "bad"
                                  : c.status === "not_listed"
                                    ? "ok"
                                    : c.status === "error"
                                      ? "warn"
                                      : "muted"
                              }
                            >
                              {c.status.replace("_", " ")}
                            </Badge>
                            {c.detail && <span class="hint"> {c.detail}</span>}
                            {c.codes.map((code) => (
                              <span key={code.code} class="hint">
                                {" "}
                                {code.code} {code.meaning}
                              </span>
                            ))}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
