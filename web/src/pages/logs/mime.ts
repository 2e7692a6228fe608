// Just enough MIME to show a sent message's parts as text: headers (unfolded), multipart bodies (nested),
// base64 and quoted-printable, charsets through TextDecoder. Nothing here ever renders HTML: the HTML part is
// returned as a string for display as source code.

export interface MimePart {
  headers: [string, string][];
  contentType: string; // lower-case type/subtype
  params: Record<string, string>;
  body: string; // decoded text (for text/*) or "" for binary parts
  size: number; // decoded bytes
  filename: string | null;
  children: MimePart[];
}

export interface ParsedMessage {
  headers: [string, string][];
  text: string | null;
  html: string | null;
  attachments: { filename: string; contentType: string; size: number }[];
}

function splitHeadBody(raw: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return [raw, ""];
  return [raw.slice(0, m.index), raw.slice(m.index + m[0].length)];
}

export function parseHeaders(head: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1][1] += " " + line.trim();
    else {
      const i = line.indexOf(":");
      if (i > 0) out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

function header(headers: [string, string][], name: string): string {
  const h = headers.find(([k]) => k.toLowerCase() === name);
  return h ? h[1] : "";
}

// "text/plain; charset=utf-8; name=\"a b\"" → ["text/plain", {charset:"utf-8", name:"a b"}]
function parseValue(value: string): [string, Record<string, string>] {
  const [first, ...rest] = value.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i < 0) continue;
    let v = p.slice(i + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    params[p.slice(0, i).trim().toLowerCase().replace(/\*$/, "")] = v;
  }
  return [first.trim().toLowerCase(), params];
}

// The raw text holds one byte per char (latin1) so decoders see the original bytes.
function bytesOf(binary: string): Uint8Array {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i) & 0xff;
  return out;
}

function decodeTransfer(body: string, encoding: string): Uint8Array {
  encoding = encoding.toLowerCase();
  if (encoding === "base64") {
    try {
      return bytesOf(atob(body.replace(/[^A-Za-z0-9+/=]/g, "")));
    } catch {
      return bytesOf(body);
    }
  }
  if (encoding === "quoted-printable") {
    const text = body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return bytesOf(text);
  }
  return bytesOf(body);
}

function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || "utf-8").decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

// RFC 2047 encoded words in headers (=?utf-8?B?…?= / =?utf-8?Q?…?=).
export function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=(\s+(?==\?))?/g, (_, charset: string, kind: string, text: string) => {
    const binary =
      kind.toUpperCase() === "B"
        ? (() => {
            try {
              return atob(text);
            } catch {
              return text;
            }
          })()
        : text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
    return decodeCharset(bytesOf(binary), charset);
  });
}

export function parsePart(raw: string, depth = 0): MimePart {
  const [head, body] = splitHeadBody(raw);
  const headers = parseHeaders(head);
  const [type, params] = parseValue(header(headers, "content-type") || "text/plain");
  const [, disposition] = parseValue(header(headers, "content-disposition") || "inline");
  const filename = disposition.filename ?? params.name ?? null;
  const part: MimePart = { headers, contentType: type, params, body: "", size: 0, filename, children: [] };
  if (type.startsWith("multipart/") && params.boundary && depth < 20) {
    const delimiter = "--" + params.boundary;
    const sections = body.split(new RegExp(`\\r?\\n?${delimiter.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?[ \\t]*\\r?\\n?`));
    // The first section is the preamble, the last one the epilogue.
    for (const section of sections.slice(1, -1)) part.children.push(parsePart(section, depth + 1));
    return part;
  }
  const bytes = decodeTransfer(body, header(headers, "content-transfer-encoding"));
  part.size = bytes.length;
  if (type.startsWith("text/") || type === "message/rfc822") part.body = decodeCharset(bytes, params.charset);
  return part;
}

export function parseMessage(raw: string): ParsedMessage {
  const root = parsePart(raw);
  const result: ParsedMessage = { headers: root.headers, text: null, html: null, attachments: [] };
  const walk = (part: MimePart) => {
    if (part.children.length) return part.children.forEach(walk);
    const attachment = part.filename !== null || !/^text\/(plain|html)$/.test(part.contentType);
    if (attachment) {
      result.attachments.push({ filename: part.filename ?? "(unnamed)", contentType: part.contentType, size: part.size });
    } else if (part.contentType === "text/plain" && result.text === null) result.text = part.body;
    else if (part.contentType === "text/html" && result.html === null) result.html = part.body;
  };
  walk(root);
  return result;
}

// An ArrayBuffer as a one-char-per-byte string (TextDecoder's "latin1" is really windows-1252, which would
// change bytes 0x80–0x9f).
export function binaryString(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return out;
}
