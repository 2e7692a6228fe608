#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "dkim/dkim.h"

namespace postroom::dkim {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower_ascii(c);
  return out;
}

// Appends the relaxed form of one body line (without its line end) to `out`: WSP runs become one SP, trailing
// WSP goes.
void append_relaxed_line(std::string_view line, std::string& out) {
  bool pending_space = false;
  for (char c : line) {
    if (is_wsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
}

void canonical_body(std::string_view body, std::string& out) {
  out.reserve(out.size() + body.size() + body.size() / 32);
  std::size_t empty_lines = 0;
  std::size_t pos = 0;
  std::string line;
  while (pos < body.size()) {
    std::size_t nl = body.find('\n', pos);
    std::string_view raw;
    if (nl == std::string_view::npos) {
      raw = body.substr(pos);
      pos = body.size();
    } else {
      raw = body.substr(pos, nl - pos);
      pos = nl + 1;
    }
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const std::size_t before = out.size();
    // Write the line first, then move it behind any pending empty lines (rare).
    if (empty_lines > 0) {
      line.clear();
      append_relaxed_line(raw, line);
      if (line.empty()) {
        ++empty_lines;
        continue;
      }
      for (; empty_lines > 0; --empty_lines) out += "\r\n";
      out += line;
      out += "\r\n";
      continue;
    }
    append_relaxed_line(raw, out);
    if (out.size() == before) {
      ++empty_lines;
      continue;
    }
    out += "\r\n";
  }
}

struct Field {
  std::string name;      // lowercase
  std::string_view raw;  // the whole field, folded, without its final line end
  bool used = false;
};

// Splits the message into header fields and the body (after the first empty line).
std::vector<Field> parse_header(std::string_view message, std::string_view& body) {
  std::vector<Field> fields;
  std::size_t pos = 0;
  body = {};
  std::size_t field_start = std::string_view::npos;
  std::size_t field_end = 0;
  auto flush = [&] {
    if (field_start == std::string_view::npos) return;
    std::string_view raw = message.substr(field_start, field_end - field_start);
    const auto colon = raw.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = raw.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      if (!name.empty()) fields.push_back(Field{lower(name), raw, false});
    }
    field_start = std::string_view::npos;
  };
  while (pos < message.size()) {
    const std::size_t nl = message.find('\n', pos);
    const std::size_t line_end_incl = nl == std::string_view::npos ? message.size() : nl + 1;
    std::size_t content_end = nl == std::string_view::npos ? message.size() : nl;
    if (content_end > pos && message[content_end - 1] == '\r') --content_end;
    if (content_end == pos && nl != std::string_view::npos) {  // the empty line
      flush();
      body = message.substr(line_end_incl);
      return fields;
    }
    if (is_wsp(message[pos]) && field_start != std::string_view::npos) {
      field_end = content_end;  // continuation line
    } else {
      flush();
      field_start = pos;
      field_end = content_end;
    }
    pos = line_end_incl;
  }
  flush();
  return fields;
}

const char* const kDefaultSigned[] = {"from",
                                      "sender",
                                      "reply-to",
                                      "subject",
                                      "date",
                                      "message-id",
                                      "to",
                                      "cc",
                                      "mime-version",
                                      "content-type",
                                      "content-transfer-encoding",
                                      "in-reply-to",
                                      "references",
                                      "list-id",
                                      "list-help",
                                      "list-unsubscribe",
                                      "list-unsubscribe-post",
                                      "feedback-id"};
const char* const kDefaultOversigned[] = {"from",
                                          "sender",
                                          "reply-to",
                                          "subject",
                                          "date",
                                          "message-id",
                                          "to",
                                          "cc",
                                          "mime-version",
                                          "content-type",
                                          "list-unsubscribe",
                                          "list-unsubscribe-post"};

}  // namespace

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> v(std::begin(kDefaultSigned), std::end(kDefaultSigned));
  return v;
}

const std::vector<std::string>& default_oversigned_headers() {
  static const std::vector<std::string> v(std::begin(kDefaultOversigned), std::end(kDefaultOversigned));
  return v;
}

std::string canonicalize_header_relaxed(std::string_view field) {
  const auto colon = field.find(':');
  std::string out;
  out.reserve(field.size());
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  out = lower(name);
  if (colon == std::string_view::npos) return out;
  out.push_back(':');
  bool pending_space = false;
  bool seen_text = false;
  for (char c : field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && seen_text) out.push_back(' ');
    pending_space = false;
    seen_text = true;
    out.push_back(c);
  }
  return out;
}

std::string canonicalize_body_relaxed(std::string_view body) {
  std::string out;
  canonical_body(body, out);
  return out;
}

std::string body_hash_relaxed(std::string_view body) {
  std::string canonical = canonicalize_body_relaxed(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr)) {
    throw std::runtime_error("SHA-256 failed");
  }
  return base64_encode(std::string_view(reinterpret_cast<char*>(digest), len));
}

std::string sign(std::string_view message, const SigningKey& key, const SignOptions& options) {
  auto valid_tag_value = [](std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) { return c > ' ' && c < 0x7f && c != ';'; });
  };
  if (options.domain.empty() || options.selector.empty()) {
    throw std::invalid_argument("DKIM signing needs a domain and a selector");
  }
  if (!valid_tag_value(options.domain) || !valid_tag_value(options.selector) || !valid_tag_value(options.identity)) {
    throw std::invalid_argument("bad characters in the DKIM domain, selector or identity");
  }

  std::string_view body;
  std::vector<Field> fields = parse_header(message, body);

  // Line ends of the output follow the message's own.
  const auto first_nl = message.find('\n');
  const std::string_view eol = (first_nl != std::string_view::npos && (first_nl == 0 || message[first_nl - 1] != '\r'))
                                   ? std::string_view("\n")
                                   : std::string_view("\r\n");

  // h=: each wanted field as often as it occurs, plus once more when oversigned.
  const auto& wanted = options.headers.empty() ? default_signed_headers() : options.headers;
  const auto& over = options.oversign.empty() ? default_oversigned_headers() : options.oversign;
  std::vector<std::string> names;
  std::vector<std::string> seen;
  for (const auto& w : wanted) {
    const std::string name = lower(w);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    const auto count = std::count_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name; });
    const bool oversigned =
        std::find_if(over.begin(), over.end(), [&](const std::string& o) { return lower(o) == name; }) != over.end();
    for (long i = 0; i < count; ++i) names.push_back(name);
    if (oversigned && (count > 0 || options.oversign_missing)) names.push_back(name);
  }
  if (std::find(names.begin(), names.end(), "from") == names.end() ||
      std::none_of(fields.begin(), fields.end(), [](const Field& f) { return f.name == "from"; })) {
    throw std::invalid_argument("DKIM signing needs a From header field, and it must be signed");
  }

  // Header hash input: the signed fields, each instance taken from the bottom up.
  std::string data;
  for (const auto& name : names) {
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
      if (it->used || it->name != name) continue;
      it->used = true;
      data += canonicalize_header_relaxed(it->raw);
      data += "\r\n";
      break;
    }
  }

  const std::int64_t t = options.timestamp ? *options.timestamp : static_cast<std::int64_t>(std::time(nullptr));
  std::vector<std::string> tags;
  tags.push_back("v=1;");
  tags.push_back("a=" + std::string(to_string(key.algorithm())) + ";");
  tags.push_back("c=relaxed/relaxed;");
  tags.push_back("d=" + options.domain + ";");
  tags.push_back("s=" + options.selector + ";");
  if (!options.identity.empty()) tags.push_back("i=" + options.identity + ";");
  tags.push_back("t=" + std::to_string(t) + ";");
  if (options.expire_after) tags.push_back("x=" + std::to_string(t + options.expire_after->count()) + ";");

  // Fold at 78 columns: tags separated by SP or by a line break and a tab.
  constexpr std::size_t kWidth = 78;
  std::string header = "DKIM-Signature:";
  std::size_t column = header.size();
  auto add = [&](std::string_view piece, bool space_before) {
    if (column + piece.size() + 1 > kWidth && column > 1) {
      header += eol;
      header += '\t';
      column = 8;
    } else if (space_before) {
      header += ' ';
      ++column;
    }
    header += piece;
    column += piece.size();
  };
  for (const auto& tag : tags) add(tag, true);
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string piece = (i == 0 ? "h=" : "") + names[i] + (i + 1 < names.size() ? ":" : ";");
    add(piece, i == 0);
  }

  const std::string canonical_body = canonicalize_body_relaxed(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (!EVP_Digest(canonical_body.data(), canonical_body.size(), digest, &digest_len, EVP_sha256(), nullptr)) {
    throw std::runtime_error("SHA-256 failed");
  }
  add("bh=" + base64_encode(std::string_view(reinterpret_cast<char*>(digest), digest_len)) + ";", true);
  add("b=", true);

  // The signature covers the DKIM-Signature field itself with an empty b= (and no final line end).
  data += canonicalize_header_relaxed(header);
  const std::string b = base64_encode(key.sign_data(data));
  std::size_t pos = 0;
  while (pos < b.size()) {
    const std::size_t room = column < kWidth ? kWidth - column : 0;
    if (room < 8) {
      header += eol;
      header += '\t';
      column = 8;
      continue;
    }
    const std::size_t n = std::min(room, b.size() - pos);
    header.append(b, pos, n);
    column += n;
    pos += n;
  }
  header += eol;
  return header;
}

}  // namespace postroom::dkim
