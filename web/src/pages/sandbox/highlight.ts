// A small HTML tokenizer for the HTML Source tab: tags, attribute names and values, comments, doctypes, entities,
// and the raw text of <style>/<script>. It never builds markup: the page renders each token as a text node in a
// <span>, so hostile source stays text. Tokens are split into lines for line numbers and jump targets.

export type TokenKind = "tag" | "attr" | "val" | "punct" | "cmt" | "doc" | "ent" | "txt" | "raw" | "sel" | "prop" | "at";
export type Token = [TokenKind, string];

const TAG = /<\/?[A-Za-z][^\s/>]*/y;
const SPACE = /\s+/y;
const ATTR = /[^\s"'>/=]+/y;
const VALUE = /"[^"]*"?|'[^']*'?|[^\s>]+/y;
const ENTITY = /&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/g;

function sticky(re: RegExp, src: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(src);
  return m ? m[0] : null;
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const n = src.length;
  const text = (s: string) => {
    if (!s) return;
    let last = 0;
    ENTITY.lastIndex = 0;
    for (let m = ENTITY.exec(s); m; m = ENTITY.exec(s)) {
      if (m.index > last) out.push(["txt", s.slice(last, m.index)]);
      out.push(["ent", m[0]]);
      last = m.index + m[0].length;
    }
    if (last < s.length) out.push(["txt", s.slice(last)]);
  };
  let i = 0;
  while (i < n) {
    const lt = src.indexOf("<", i);
    if (lt < 0 || lt > i) {
      const end = lt < 0 ? n : lt;
      text(src.slice(i, end));
      i = end;
      continue;
    }
    if (src.startsWith("<!--", i)) {
      const e = src.indexOf("-->", i + 4);
      const j = e < 0 ? n : e + 3;
      out.push(["cmt", src.slice(i, j)]);
      i = j;
      continue;
    }
    if (src[i + 1] === "!" || src[i + 1] === "?") {
      const e = src.indexOf(">", i);
      const j = e < 0 ? n : e + 1;
      out.push(["doc", src.slice(i, j)]);
      i = j;
      continue;
    }
    const open = sticky(TAG, src, i);
    if (!open) {
      out.push(["txt", "<"]);
      i++;
      continue;
    }
    out.push(["tag", open]);
    i += open.length;
    const closing = open[1] === "/";
    const name = open.slice(closing ? 2 : 1).toLowerCase();
    while (i < n) {
      const space = sticky(SPACE, src, i);
      if (space) {
        out.push(["txt", space]);
        i += space.length;
        continue;
      }
      if (src[i] === ">") {
        out.push(["tag", ">"]);
        i++;
        break;
      }
      if (src.startsWith("/>", i)) {
        out.push(["tag", "/>"]);
        i += 2;
        break;
      }
      if (src[i] === "=") {
        out.push(["punct", "="]);
        i++;
        const pad = sticky(SPACE, src, i);
        if (pad) {
          out.push(["txt", pad]);
          i += pad.length;
        }
        const value = sticky(VALUE, src, i);
        if (value) {
          out.push(["val", value]);
          i += value.length;
        }
        continue;
      }
      const attr = sticky(ATTR, src, i);
      if (attr) {
        out.push(["attr", attr]);
        i += attr.length;
        continue;
      }
      out.push(["txt", src[i]]);
      i++;
    }
    if (!closing && (name === "style" || name === "script" || name === "textarea" || name === "title")) {
      const close = new RegExp(`</${name}`, "ig");
      close.lastIndex = i;
      const m = close.exec(src);
      const j = m ? m.index : n;
      if (j > i) {
        if (name === "style") out.push(...tokenizeCss(src.slice(i, j)));
        else out.push(["raw", src.slice(i, j)]);
      }
      i = j;
    }
  }
  return out;
}

// CSS of a <style> element: selectors, at-rules, property names, values, comments and punctuation.
export function tokenizeCss(css: string): Token[] {
  const out: Token[] = [];
  let depth = 0; // brace depth
  let inValue = false; // after "prop:" inside a declaration block
  let i = 0;
  let chunk = "";
  // A chunk's kind depends on what ends it: "{" opens a rule (selector or at-rule), else a value after ":",
  // else a property name inside a block, else a block-less at-rule or stray selector text at the top level.
  const flush = (end: string) => {
    if (!chunk) return;
    const at = chunk.trim().startsWith("@");
    const kind: TokenKind =
      end === "{" || depth === 0 ? (at ? "at" : "sel") : inValue ? "val" : "prop";
    out.push([/^\s+$/.test(chunk) ? "txt" : kind, chunk]);
    chunk = "";
  };
  while (i < css.length) {
    const c = css[i];
    if (c === "/" && css[i + 1] === "*") {
      flush("");
      const e = css.indexOf("*/", i + 2);
      const j = e < 0 ? css.length : e + 2;
      out.push(["cmt", css.slice(i, j)]);
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      const e = css.indexOf(c, i + 1);
      const j = e < 0 ? css.length : e + 1;
      chunk += css.slice(i, j);
      i = j;
      continue;
    }
    if (c === "{" || c === "}" || c === ";" || (c === ":" && depth > 0 && !inValue && !isNestedSelector(css, i))) {
      flush(c);
      out.push(["punct", c]);
      if (c === "{") depth++;
      if (c === "}") depth = Math.max(0, depth - 1);
      inValue = c === ":";
      i++;
      continue;
    }
    chunk += c;
    i++;
  }
  flush("");
  return out;
}

// Inside a block, "a:hover {" is a nested selector (an at-rule's rule), not "property: value".
function isNestedSelector(css: string, at: number): boolean {
  for (let k = at + 1; k < css.length; k++) {
    const c = css[k];
    if (c === ";" || c === "}") return false;
    if (c === "{") return true;
  }
  return false;
}

// The tokens line by line (a token spanning lines is split at each newline).
export function toLines(tokens: Token[]): Token[][] {
  const lines: Token[][] = [[]];
  for (const [kind, s] of tokens) {
    if (!s.includes("\n")) {
      lines[lines.length - 1].push([kind, s]);
      continue;
    }
    const parts = s.split("\n");
    parts.forEach((part, k) => {
      if (k > 0) lines.push([]);
      if (part) lines[lines.length - 1].push([kind, part.replace(/\r$/, "")]);
    });
  }
  return lines;
}
