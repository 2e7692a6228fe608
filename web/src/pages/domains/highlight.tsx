// A very small syntax highlighter for the code samples and DNS exports (shell, JavaScript, Python, JSON, zone
// files): strings, comments, numbers and a few keywords become spans with classes; everything else stays text.
// No HTML strings are built: the tokens are Preact children, so nothing is ever parsed as markup.
import type { ComponentChildren } from "preact";
import { CopyButton } from "../../components/ui";

export type Lang = "shell" | "js" | "python" | "json" | "zone";

const KEYWORDS: Record<Lang, string[]> = {
  shell: ["curl", "export"],
  js: ["const", "let", "await", "async", "new", "import", "from", "require", "return", "true", "false", "null"],
  python: ["import", "from", "with", "as", "print", "True", "False", "None", "def", "return"],
  json: ["true", "false", "null"],
  zone: ["IN", "TXT", "CNAME", "MX"],
};

// One regular expression per language: group 1 comment, 2 string, 3 number, 4 word.
function pattern(lang: Lang): RegExp {
  const comment = lang === "js" ? String.raw`\/\/[^\n]*` : lang === "json" ? "(?!)" : lang === "zone" ? ";[^\\n]*" : "#[^\\n]*";
  const string = String.raw`"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|` + "`(?:[^`\\\\]|\\\\.)*`";
  return new RegExp(`(${comment})|(${string})|(\\b\\d+(?:\\.\\d+)?\\b)|([A-Za-z_$][\\w$]*)`, "g");
}

export function highlight(code: string, lang: Lang): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const keywords = new Set(KEYWORDS[lang]);
  const re = pattern(lang);
  let last = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    if (m[4] !== undefined && !keywords.has(m[4])) continue; // plain word: stays in the text run
    if (m.index > last) out.push(code.slice(last, m.index));
    const cls = m[1] !== undefined ? "dom-hl-comment" : m[2] !== undefined ? "dom-hl-string" : m[3] !== undefined ? "dom-hl-number" : "dom-hl-keyword";
    out.push(<span class={cls}>{m[0]}</span>);
    last = m.index + m[0].length;
  }
  if (last < code.length) out.push(code.slice(last));
  return out;
}

// A code block with its copy button; `label` names it for screen readers and the copy button.
export function CodeBlock({ code, lang, label }: { code: string; lang: Lang; label: string }) {
  return (
    <figure class="dom-code-block" aria-label={label}>
      <div class="dom-code-block-actions">
        <CopyButton value={code} label={`Copy ${label}`} />
      </div>
      <pre tabIndex={0}>
        <code>{highlight(code, lang)}</code>
      </pre>
    </figure>
  );
}

// A compact copy button: shows "Copy" but tells screen readers what it copies (tables of many of them).
export function SmallCopy({ value, label }: { value: string; label: string }) {
  return <CopyButton value={value} label="Copy" ariaLabel={label} />;
}
