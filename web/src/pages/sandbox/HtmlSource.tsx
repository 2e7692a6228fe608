// The HTML part's source, highlighted by our own tokenizer (text nodes in spans, never innerHTML), with line
// numbers; the lines HTML Check flags are marked with the rules they break, and "?line=N" jumps to a line.
import { useEffect, useMemo, useRef } from "preact/hooks";
import { api } from "../../lib/api";
import { useAsync } from "../../lib/hooks";
import { ErrorBanner, Loading } from "../../components/ui";
import { tokenize, toLines, type Token } from "./highlight";
import { messagePath, messageRoute, type Inbox, type Message } from "./types";

interface Analysis {
  report: { status: string; errors: { error_line: number; rule_name: string }[] };
}

// Past this size the source is shown plain: highlighting megabytes of markup is not worth a frozen tab.
const HIGHLIGHT_LIMIT = 1_500_000;

export function HtmlSource({ inbox, message, line }: { inbox: Inbox; message: Message; line: number | null }) {
  const source = useAsync(() => api.get<string>(message.html_source_path), [message.html_source_path]);
  const analysis = useAsync(
    () => api.get<Analysis>(messagePath(inbox.id, message.id, "/analyze")),
    [inbox.id, message.id],
  );
  const lines = useMemo(() => {
    const text = typeof source.data === "string" ? source.data : "";
    if (text.length > HIGHLIGHT_LIMIT) return text.split("\n").map((l): Token[] => [["txt", l]]);
    return toLines(tokenize(text));
  }, [source.data]);
  const flagged = useMemo(() => {
    const map = new Map<number, string[]>();
    for (const e of analysis.data?.report.errors ?? []) {
      const list = map.get(e.error_line) ?? [];
      if (!list.includes(e.rule_name)) list.push(e.rule_name);
      map.set(e.error_line, list);
    }
    return map;
  }, [analysis.data]);

  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!line || !box.current) return;
    const target = box.current.querySelector<HTMLElement>(`#sbx-L${line}`);
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
    }
  }, [line, lines]);

  if (source.error) return <ErrorBanner error={source.error} />;
  if (source.data === undefined) return <Loading />;
  const flaggedCount = flagged.size;
  return (
    <div class="sbx-source-wrap">
      <div class="row hint sbx-source-summary">
        {analysis.error ? (
          <ErrorBanner error={analysis.error} />
        ) : analysis.data ? (
          flaggedCount > 0 ? (
            <span>
              {flaggedCount} {flaggedCount === 1 ? "line uses" : "lines use"} features some email clients do not fully
              support (marked). Details in{" "}
              <a href={`#${messageRoute(inbox.id, message.id, "check")}`}>HTML Check</a>.
            </span>
          ) : (
            <span>No line uses features that email clients lack.</span>
          )
        ) : (
          <span>Checking lines…</span>
        )}
      </div>
      <div class="sbx-source" ref={box} aria-label="HTML source" role="region" tabIndex={0}>
        {lines.map((tokens, k) => {
          const n = k + 1;
          const rules = flagged.get(n);
          return (
            <div
              key={n}
              id={`sbx-L${n}`}
              class={`src-line${rules ? " flagged" : ""}${n === line ? " target" : ""}`}
              tabIndex={n === line ? -1 : undefined}
            >
              <span class="src-ln" aria-hidden="true">
                {n}
              </span>
              <code class="src-code">
                {tokens.map(([kind, text], i) =>
                  kind === "txt" ? text : (
                    <span key={i} class={`t-${kind}`}>
                      {text}
                    </span>
                  ),
                )}
              </code>
              {rules && (
                <a
                  class="src-flag"
                  href={`#${messageRoute(inbox.id, message.id, "check")}`}
                  title={`${rules.join("\n")}\n(details in HTML Check)`}
                  aria-label={`Line ${n}: ${rules.join(", ")}. Details in HTML Check`}
                >
                  ⚠ {rules.join(", ")}
                </a>
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
