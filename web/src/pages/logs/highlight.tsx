// Small syntax highlighting as Preact text nodes (never HTML strings): HTML source and message headers.
import type { JSX } from "preact";

// Tags, attribute names, attribute values and comments of an HTML source get their own classes.
export function HtmlSource({ source }: { source: string }) {
  const out: JSX.Element[] = [];
  const re = /(<!--[\s\S]*?-->)|(<\/?[A-Za-z][^\s/>]*)((?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?>)|([^<]+|<)/g;
  let m: RegExpExecArray | null;
  let key = 0;
  while ((m = re.exec(source))) {
    if (m[1]) out.push(<span key={key++} class="hl-comment">{m[1]}</span>);
    else if (m[2]) {
      out.push(<span key={key++} class="hl-tag">{m[2]}</span>);
      const attrs = m[3] ?? "";
      const attrRe = /(\s+)([^\s=>\/]+)(?:(\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+))?/g;
      let a: RegExpExecArray | null;
      while ((a = attrRe.exec(attrs))) {
        out.push(<span key={key++}>{a[1]}</span>);
        out.push(<span key={key++} class="hl-attr">{a[2]}</span>);
        if (a[3]) {
          out.push(<span key={key++}>{a[3]}</span>);
          out.push(<span key={key++} class="hl-value">{a[4]}</span>);
        }
      }
      out.push(<span key={key++} class="hl-tag">{m[4]}</span>);
    } else out.push(<span key={key++}>{m[5]}</span>);
  }
  return <pre class="logs-code">{out}</pre>;
}

// "Name: value" lines of a raw message's header block get the name highlighted; the body stays plain.
export function RawSource({ source }: { source: string }) {
  const split = /\r?\n\r?\n/.exec(source);
  const head = split ? source.slice(0, split.index) : source;
  const body = split ? source.slice(split.index) : "";
  const lines = head.split(/\r?\n/);
  return (
    <pre class="logs-code">
      {lines.map((line, i) => {
        const m = /^([!-9;-~]+)(:)(.*)$/.exec(line);
        return (
          <span key={i}>
            {m ? (
              <>
                <span class="hl-attr">{m[1]}</span>
                {m[2]}
                {m[3]}
              </>
            ) : (
              line
            )}
            {i < lines.length - 1 ? "\n" : ""}
          </span>
        );
      })}
      {body}
    </pre>
  );
}
