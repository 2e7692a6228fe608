// Delivery status notifications: GMime finds the parts; the delivery-status fields, returned headers and
// plain-text bounces are read here with small line scanners (no regular expressions), each bounded.
#include "mime/dsn.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "mime/text.h"

namespace postroom::mime {
namespace {

constexpr std::size_t kMaxRawBytes = 32u << 20;      // the report parts come first; a longer tail is not read
constexpr std::size_t kMaxParts = 256;               // MIME parts examined
constexpr std::size_t kMaxDepth = 8;                 // multipart nesting examined
constexpr std::size_t kMaxStatusBytes = 1u << 20;    // of the message/delivery-status part
constexpr std::size_t kMaxFieldBytes = 2048;         // of one unfolded field value
constexpr std::size_t kMaxHumanBytes = 8192;         // Dsn::human_readable
constexpr std::size_t kMaxScanBytes = 64u << 10;     // of a plain-text bounce's body
constexpr std::size_t kMaxHeaderBytes = 256u << 10;  // of a text/rfc822-headers part

struct GObjectUnref {
  void operator()(void* object) const {
    if (object) g_object_unref(object);
  }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFreeDeleter {
  void operator()(void* memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<char, GFreeDeleter>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const {
    if (options) g_mime_parser_options_free(options);
  }
};
using ParserOptionsPtr = std::unique_ptr<GMimeParserOptions, ParserOptionsFree>;

std::string safe(const char* text) { return text ? std::string(text) : std::string(); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim_view(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) { return text::ascii_lower(text); }

bool contains(std::string_view haystack_lower, std::string_view needle) {
  return haystack_lower.find(needle) != std::string_view::npos;
}

// Every run of whitespace one space, trimmed.
std::string collapse_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending = false;
  for (const char c : text) {
    if (is_space(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += c;
  }
  return out;
}

// Cuts at most `limit` bytes without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

// Valid UTF-8 of at most `limit` bytes: repairing comes first because each invalid byte becomes a 3-byte U+FFFD.
std::string valid_utf8_prefix(std::string_view text, std::size_t limit) {
  return utf8_prefix(text::to_valid_utf8(text), limit);
}

// "5.1.1", "4.0.0", "5.1.10": class 2/4/5, subject and detail of one to three digits.
bool is_status_code(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return false;
  std::size_t pos = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    if (pos == start || pos - start > 3) return false;
    if (part == 0) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == text.size();
}

std::string first_token(std::string_view text) {
  text = trim_view(text);
  std::size_t end = 0;
  while (end < text.size() && !is_space(text[end]) && text[end] != '(') ++end;
  return std::string(text.substr(0, end));
}

// "rfc822; <a@b>" → "a@b"; "dns; mx.example.com" → "mx.example.com".
std::string without_type(std::string_view value) {
  const std::size_t semicolon = value.find(';');
  if (semicolon != std::string_view::npos) value = value.substr(semicolon + 1);
  value = trim_view(value);
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>')
    value = trim_view(value.substr(1, value.size() - 2));
  return std::string(value);
}

// "<id@host> (comment)" → "id@host".
std::string message_id_of(std::string_view value) {
  value = trim_view(value);
  const std::size_t open = value.find('<');
  if (open != std::string_view::npos) {
    const std::size_t close = value.find('>', open + 1);
    if (close != std::string_view::npos) return std::string(trim_view(value.substr(open + 1, close - open - 1)));
  }
  return first_token(value);
}

std::string address_of(std::string_view value) {
  value = trim_view(value);
  const std::size_t open = value.find('<');
  if (open != std::string_view::npos) {
    const std::size_t close = value.find('>', open + 1);
    if (close != std::string_view::npos) return std::string(trim_view(value.substr(open + 1, close - open - 1)));
  }
  return first_token(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Header-style field blocks (the delivery-status body, text/rfc822-headers).

struct Field {
  std::string name;  // lowercase
  std::string value;
};
using FieldBlock = std::vector<Field>;

// Splits `text` into blocks separated by blank lines; continuation lines (leading SP/HT) join the previous field
// with one space. Lines that are not "Name: value" are skipped. At most `max_blocks` non-empty blocks.
std::vector<FieldBlock> parse_field_blocks(std::string_view text, std::size_t max_blocks) {
  std::vector<FieldBlock> blocks;
  FieldBlock current;
  auto close_block = [&] {
    if (!current.empty()) blocks.push_back(std::move(current));
    current.clear();
  };
  std::size_t start = 0;
  while (start < text.size() && blocks.size() < max_blocks) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view trimmed = trim_view(line);
    if (trimmed.empty()) {
      close_block();
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (current.empty()) continue;
      std::string& value = current.back().value;
      if (value.size() < kMaxFieldBytes) {
        if (!value.empty()) value += ' ';
        value.append(trimmed.substr(0, kMaxFieldBytes - std::min(value.size(), kMaxFieldBytes)));
      }
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::string_view name = line.substr(0, colon);
    if (std::any_of(name.begin(), name.end(), [](char c) { return is_space(c) || c < 33 || c > 126; })) continue;
    current.push_back({lower(name), std::string(trim_view(line.substr(colon + 1)).substr(0, kMaxFieldBytes))});
  }
  close_block();
  return blocks;
}

const std::string* field(const FieldBlock& block, std::string_view name) {
  for (const Field& f : block) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

std::string field_or_empty(const FieldBlock& block, std::string_view name) {
  const std::string* value = field(block, name);
  return value ? valid_utf8_prefix(*value, kMaxFieldBytes) : std::string();
}

struct ReturnedHeaders {
  std::string message_id;
  std::string return_path;
};

// The delivery-status fields into `dsn`; X-Postfix-Sender (the original envelope sender) into `postfix_sender`.
void read_status_fields(std::string_view status_text, Dsn& dsn, std::string& postfix_sender) {
  const std::vector<FieldBlock> blocks = parse_field_blocks(status_text, kMaxDsnRecipients + 8);
  for (const FieldBlock& block : blocks) {
    // Per-message fields, wherever they are (some MTAs omit the blank line after them); the first one counts.
    if (dsn.reporting_mta.empty())
      dsn.reporting_mta = text::to_valid_utf8(without_type(field_or_empty(block, "reporting-mta")));
    if (dsn.arrival_date.empty()) dsn.arrival_date = field_or_empty(block, "arrival-date");
    if (dsn.original_envelope_id.empty()) dsn.original_envelope_id = field_or_empty(block, "original-envelope-id");
    if (postfix_sender.empty()) postfix_sender = without_type(field_or_empty(block, "x-postfix-sender"));
    const bool recipient_block = field(block, "final-recipient") || field(block, "original-recipient") ||
                                 field(block, "action") || field(block, "status");
    if (!recipient_block || dsn.recipients.size() >= kMaxDsnRecipients) continue;
    DsnRecipient recipient;
    recipient.final_recipient = without_type(field_or_empty(block, "final-recipient"));
    recipient.original_recipient = without_type(field_or_empty(block, "original-recipient"));
    recipient.action = lower(first_token(field_or_empty(block, "action")));
    const std::string status = first_token(field_or_empty(block, "status"));
    if (is_status_code(status)) recipient.status = status;
    recipient.diagnostic_code = field_or_empty(block, "diagnostic-code");
    recipient.remote_mta = without_type(field_or_empty(block, "remote-mta"));
    recipient.last_attempt_date = field_or_empty(block, "last-attempt-date");
    dsn.recipients.push_back(std::move(recipient));
  }
}

void read_returned_header_fields(std::string_view headers, ReturnedHeaders& out) {
  const std::vector<FieldBlock> blocks = parse_field_blocks(headers.substr(0, kMaxHeaderBytes), 1);
  if (blocks.empty()) return;
  if (out.message_id.empty())
    out.message_id = text::to_valid_utf8(message_id_of(field_or_empty(blocks.front(), "message-id")));
  if (out.return_path.empty())
    out.return_path = text::to_valid_utf8(address_of(field_or_empty(blocks.front(), "return-path")));
}

// ---------------------------------------------------------------------------------------------------------------
// HTML to text, for a human-readable part that is only HTML.

std::string html_to_text(std::string_view html) {
  html = html.substr(0, kMaxScanBytes);
  const std::string lowered = lower(html);
  std::string out;
  std::size_t pos = 0;
  while (pos < html.size()) {
    const char c = html[pos];
    if (c == '<') {
      const std::size_t close = lowered.find('>', pos);
      if (close == std::string::npos) break;
      const std::string_view tag = std::string_view(lowered).substr(pos + 1, close - pos - 1);
      pos = close + 1;
      if (tag.starts_with("script") || tag.starts_with("style")) {
        const std::size_t end = lowered.find(tag.starts_with("script") ? "</script" : "</style", pos);
        if (end == std::string::npos) break;
        pos = end;
        continue;
      }
      if (tag.starts_with("br") || tag.starts_with("/p") || tag.starts_with("/div") || tag.starts_with("/tr") ||
          tag.starts_with("/h") || tag.starts_with("/li")) {
        out += '\n';
      }
      continue;
    }
    if (c == '&') {
      static const std::array<std::pair<std::string_view, std::string_view>, 7> entities = {{
          {"&amp;", "&"},
          {"&lt;", "<"},
          {"&gt;", ">"},
          {"&quot;", "\""},
          {"&#39;", "'"},
          {"&apos;", "'"},
          {"&nbsp;", " "},
      }};
      bool replaced = false;
      for (const auto& entity : entities) {
        if (lowered.compare(pos, entity.first.size(), entity.first) == 0) {
          out += entity.second;
          pos += entity.first.size();
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    out += c;
    ++pos;
  }
  return out;
}

// CRLF to LF, trimmed, capped.
std::string tidy_human_text(std::string text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxHumanBytes + 16));
  for (std::size_t i = 0; i < text.size() && out.size() <= kMaxHumanBytes * 2; ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return utf8_prefix(std::string(trim_view(out)), kMaxHumanBytes);
}

// ---------------------------------------------------------------------------------------------------------------
// GMime: finding the parts.

void ensure_gmime_initialized() {
  // g_mime_init() counts its callers; parse.cpp calls it too.
  static const bool initialized = [] {
    g_mime_init();
    return true;
  }();
  (void)initialized;
}

GObjectPtr<GMimeMessage> construct_message(std::string_view raw) {
  ParserOptionsPtr options(g_mime_parser_options_new());
  g_mime_parser_options_set_address_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  return GObjectPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), options.get()));
}

std::string bytes_of(GByteArray* array) {
  if (!array || !array->data) return {};
  return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  if (!wrapper) return {};
  GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(wrapper, memory.get());
  return bytes_of(g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get())));
}

std::string mime_type_of(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (!type) return "text/plain";
  GCharPtr text(g_mime_content_type_get_mime_type(type));
  return text ? lower(text.get()) : std::string("text/plain");
}

std::string text_of(GMimePart* part) {
  const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  return text::to_utf8(decoded_content(part), charset ? std::string_view(charset) : std::string_view());
}

bool is_attachment(GMimeObject* object) {
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
  const std::string value = disposition ? lower(safe(g_mime_content_disposition_get_disposition(disposition))) : "";
  return value == "attachment" || (GMIME_IS_PART(object) && g_mime_part_get_filename(GMIME_PART(object)));
}

// What a walk over a report (or any bounce) finds.
struct Found {
  std::optional<std::string> status_text;  // message/delivery-status
  std::optional<std::string> plain;        // first text/plain
  std::optional<std::string> html;         // first text/html
  ReturnedHeaders returned;
  bool returned_seen = false;
};

class PartWalker {
 public:
  explicit PartWalker(Found& found) : found_(found) {}

  void walk(GMimeObject* object, std::size_t depth) {
    if (!object || depth > kMaxDepth || ++parts_ > kMaxParts) return;
    if (GMIME_IS_MULTIPART(object)) {
      auto* multipart = GMIME_MULTIPART(object);
      const int count = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < count && parts_ <= kMaxParts; ++i) walk(g_mime_multipart_get_part(multipart, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      // The returned message (message/rfc822, message/global): its headers only; its body is not the report.
      if (found_.returned_seen) return;
      found_.returned_seen = true;
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      if (!inner) return;
      found_.returned.message_id = text::to_valid_utf8(message_id_of(safe(g_mime_message_get_message_id(inner))));
      found_.returned.return_path =
          text::to_valid_utf8(address_of(safe(g_mime_object_get_header(GMIME_OBJECT(inner), "Return-Path"))));
      return;
    }
    if (!GMIME_IS_PART(object)) return;
    auto* part = GMIME_PART(object);
    const std::string type = mime_type_of(object);
    if (type == "message/delivery-status" || type == "message/global-delivery-status") {
      if (!found_.status_text) {
        std::string content = decoded_content(part);
        if (content.size() > kMaxStatusBytes) content.resize(kMaxStatusBytes);
        found_.status_text = std::move(content);
      }
      return;
    }
    if (type == "text/rfc822-headers" || type == "message/rfc822-headers" || type == "message/global-headers") {
      if (found_.returned_seen) return;
      found_.returned_seen = true;
      std::string content = decoded_content(part);
      read_returned_header_fields(content, found_.returned);
      return;
    }
    if (is_attachment(object)) return;
    if (type == "text/plain" && !found_.plain) found_.plain = text_of(part);
    if (type == "text/html" && !found_.html) found_.html = text_of(part);
  }

 private:
  Found& found_;
  std::size_t parts_ = 0;
};

std::string human_text(const Found& found) {
  if (found.plain) return tidy_human_text(*found.plain);
  if (found.html) return tidy_human_text(html_to_text(*found.html));
  return {};
}

std::optional<Dsn> parse_dsn_unchecked(std::string_view raw) {
  ensure_gmime_initialized();
  GObjectPtr<GMimeMessage> message = construct_message(raw.substr(0, kMaxRawBytes));
  if (!message) return std::nullopt;
  GMimeObject* top = g_mime_message_get_mime_part(message.get());
  if (!top || !GMIME_IS_MULTIPART(top) || mime_type_of(top) != "multipart/report") return std::nullopt;
  const std::string report_type = lower(trim_view(safe(g_mime_object_get_content_type_parameter(top, "report-type"))));
  if (!report_type.empty() && report_type != "delivery-status" && report_type != "global-delivery-status") {
    return std::nullopt;
  }
  Found found;
  PartWalker(found).walk(top, 0);
  if (!found.status_text) return std::nullopt;

  Dsn dsn;
  std::string postfix_sender;
  read_status_fields(*found.status_text, dsn, postfix_sender);
  dsn.original_message_id = found.returned.message_id;
  dsn.original_return_path = !found.returned.return_path.empty() ? found.returned.return_path : postfix_sender;
  dsn.human_readable = human_text(found);
  return dsn;
}

// ---------------------------------------------------------------------------------------------------------------
// Plain-text bounces.

bool is_address_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.@").find(c) != std::string_view::npos ||
         static_cast<unsigned char>(c) >= 0x80;
}

// A line that starts a recipient's section: "<a@b>: …", "<a@b>", "a@b", "a@b: …", "<a@b> (expanded from …): …".
// Returns the address and what follows it.
std::optional<std::pair<std::string, std::string_view>> recipient_start(std::string_view trimmed) {
  std::size_t pos = 0;
  const bool bracket = !trimmed.empty() && trimmed.front() == '<';
  if (bracket) ++pos;
  const std::size_t start = pos;
  while (pos < trimmed.size() && is_address_char(trimmed[pos])) ++pos;
  std::string_view address = trimmed.substr(start, pos - start);
  if (bracket) {
    if (pos >= trimmed.size() || trimmed[pos] != '>') return std::nullopt;
    ++pos;
  }
  while (!address.empty() && address.back() == '.') address.remove_suffix(1);  // sendmail's "a@b... User unknown"
  const std::size_t at = address.find('@');
  if (address.size() > 320 || at == std::string_view::npos || at == 0 || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = trimmed.substr(pos);
  while (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
  rest = trim_view(rest);
  if (rest.starts_with("(expanded from")) {
    const std::size_t close = rest.find(')');
    rest = close == std::string_view::npos ? std::string_view() : trim_view(rest.substr(close + 1));
  }
  if (!rest.empty() && rest.front() == ':') {
    rest = trim_view(rest.substr(1));
  } else if (!rest.empty() && !bracket) {
    return std::nullopt;  // a bare address followed by prose is a sentence, not a recipient line
  }
  return std::make_pair(std::string(address), rest);
}

// The position of the first SMTP reply code in `text`: three digits 2xx–5xx, not inside a longer number, followed by
// a space, a hyphen or the end.
std::size_t find_reply_code(std::string_view text) {
  for (std::size_t i = 0; i + 3 <= text.size(); ++i) {
    if (text[i] < '2' || text[i] > '5' || !is_digit(text[i + 1]) || !is_digit(text[i + 2])) continue;
    if (i > 0) {
      const char before = text[i - 1];
      if (!(is_space(before) || before == ':' || before == '\'' || before == '"' || before == '(' || before == '#')) {
        continue;
      }
    }
    if (i + 3 == text.size() || text[i + 3] == ' ' || text[i + 3] == '-' || text[i + 3] == '\t') return i;
  }
  return std::string_view::npos;
}

std::string clean_reply(std::string reply) {
  const std::size_t in_reply = lower(reply).rfind("(in reply to ");
  if (in_reply != std::string::npos) reply.resize(in_reply);
  reply = collapse_spaces(reply);
  // The reply starts at its code, so a closing quote or parenthesis left unbalanced at the end belongs to the
  // text around it: Exchange's "Remote Server returned '…'", Sendmail's "(reason: …)", Exchange's "… ##".
  std::ptrdiff_t single = std::count(reply.begin(), reply.end(), '\'');
  std::ptrdiff_t dquote = std::count(reply.begin(), reply.end(), '"');
  std::ptrdiff_t open = std::count(reply.begin(), reply.end(), '(');
  std::ptrdiff_t close = std::count(reply.begin(), reply.end(), ')');
  while (!reply.empty()) {
    const char last = reply.back();
    if (last == ' ') {
      reply.pop_back();
    } else if (last == '\'' && single % 2 == 1) {
      reply.pop_back();
      --single;
    } else if (last == '"' && dquote % 2 == 1) {
      reply.pop_back();
      --dquote;
    } else if (last == ')' && open < close) {
      reply.pop_back();
      --close;
    } else if (last == '#') {
      reply.pop_back();
    } else {
      break;
    }
  }
  return reply;
}

struct Section {
  std::string address;
  std::vector<std::string> lines;  // lines[0]: what followed the address; then the section's lines as written
};

struct SectionReading {
  std::string reply;        // from the code on, cleaned; empty when none
  std::string explanation;  // the section text, when there is no reply
  std::string remote_mta;
};

bool indented(const std::string& line) { return !line.empty() && (line.front() == ' ' || line.front() == '\t'); }

// "host mx.example.com[1.2.3.4]" / "host mx.example.com [1.2.3.4]" → "mx.example.com".
std::string remote_host_in(std::string_view text) {
  const std::string lowered = lower(text);
  std::size_t pos = 0;
  while ((pos = lowered.find("host ", pos)) != std::string::npos) {
    std::size_t start = pos + 5;
    std::size_t end = start;
    while (end < lowered.size() &&
           (std::isalnum(static_cast<unsigned char>(lowered[end])) || lowered[end] == '.' || lowered[end] == '-')) {
      ++end;
    }
    std::size_t after = end;
    while (after < lowered.size() && lowered[after] == ' ') ++after;
    if (end > start && after < lowered.size() && lowered[after] == '[' &&
        lowered.substr(start, end - start).find('.') != std::string::npos) {
      return std::string(text.substr(start, end - start));
    }
    pos = start;
  }
  return {};
}

SectionReading read_section(const Section& section) {
  static const std::array<std::string_view, 5> markers = {
      "said:", "remote server returned", "(reason:", "smtp error from remote mail server after", "delay reason:"};
  SectionReading reading;
  std::string all;
  for (const std::string& line : section.lines) all += line + "\n";
  reading.remote_mta = remote_host_in(all);
  for (std::size_t j = 0; j < section.lines.size() && reading.reply.empty(); ++j) {
    const std::string lowered = lower(section.lines[j]);
    std::size_t marker_end = std::string::npos;
    for (const std::string_view marker : markers) {
      const std::size_t at = lowered.find(marker);
      if (at != std::string::npos) {
        marker_end = at + marker.size();
        break;
      }
    }
    // Without a marker, a line that starts with a reply code (Exim puts the reply on a line of its own).
    std::string_view trimmed = trim_view(section.lines[j]);
    if (!trimmed.empty() && trimmed.front() == '#') trimmed.remove_prefix(1);  // Exchange's "#550 5.1.1 …"
    if (marker_end == std::string::npos && find_reply_code(trimmed) != 0) continue;
    std::string candidate =
        marker_end == std::string::npos ? std::string(trimmed) : section.lines[j].substr(marker_end);
    for (std::size_t k = j + 1;
         k < section.lines.size() && indented(section.lines[k]) && candidate.size() < 2 * kMaxFieldBytes; ++k) {
      candidate += ' ';
      candidate += trim_view(section.lines[k]);
    }
    const std::size_t code_at = find_reply_code(candidate);
    if (code_at != std::string::npos) reading.reply = clean_reply(candidate.substr(code_at));
  }
  if (reading.reply.empty()) reading.explanation = clean_reply(all);
  return reading;
}

std::string reply_status(const std::string& reply) {
  const SmtpReplyParts parts = parse_diagnostic_code(reply);
  if (!parts.enhanced.empty()) return parts.enhanced;
  if (parts.code >= 500) return "5.0.0";
  if (parts.code >= 400) return "4.0.0";
  return {};
}

bool looks_like_bounce(std::string_view from_lower, std::string_view subject_lower, std::string_view body_lower) {
  static const std::array<std::string_view, 6> senders = {"mailer-daemon", "mailer_daemon", "mail-daemon",
                                                          "maildaemon",    "postmaster",    "mail delivery"};
  static const std::array<std::string_view, 19> subjects = {"undeliver",
                                                            "returned mail",
                                                            "delivery status notification",
                                                            "delivery failure",
                                                            "delivery failed",
                                                            "failure notice",
                                                            "could not be delivered",
                                                            "delivery has failed",
                                                            "non-delivery",
                                                            "nondeliverable",
                                                            "delivery problem",
                                                            "delayed mail",
                                                            "delivery delayed",
                                                            "warning: message",
                                                            "returned to sender",
                                                            "mail system error",
                                                            "not delivered",
                                                            "delivery notification",
                                                            "mail delivery failed"};
  static const std::array<std::string_view, 14> phrases = {"could not be delivered",
                                                           "couldn't be delivered",
                                                           "was not delivered",
                                                           "wasn't able to deliver",
                                                           "delivery has failed",
                                                           "the following address(es) failed",
                                                           "this is the mail system at host",
                                                           "this is a permanent error",
                                                           "permanent fatal errors",
                                                           "transcript of session follows",
                                                           "has not yet been delivered",
                                                           "delivery to the following recipient",
                                                           "undeliverable",
                                                           "returned to sender"};
  const auto any_in = [](std::string_view haystack, const auto& needles) {
    return std::any_of(needles.begin(), needles.end(), [&](std::string_view n) { return contains(haystack, n); });
  };
  return any_in(from_lower, senders) || any_in(subject_lower, subjects) || any_in(body_lower, phrases);
}

bool looks_delayed(std::string_view subject_lower, std::string_view body_lower) {
  static const std::array<std::string_view, 4> subjects = {"delayed", "delay", "still being retried", "warning:"};
  static const std::array<std::string_view, 7> phrases = {"still being retried",
                                                          "will continue trying",
                                                          "has not yet been delivered",
                                                          "will be retried",
                                                          "delivery attempts will continue",
                                                          "this is only a warning",
                                                          "no action is required on your part"};
  for (const std::string_view s : subjects) {
    if (contains(subject_lower, s)) return true;
  }
  for (const std::string_view p : phrases) {
    if (contains(body_lower, p)) return true;
  }
  return false;
}

// Where the returned copy of the message starts in a plain bounce ("------ This is a copy of the message…").
std::size_t returned_copy_start(std::string_view body_lower) {
  static const std::array<std::string_view, 8> markers = {"this is a copy of the message",
                                                          "below this line is a copy of the message",
                                                          "original message follows",
                                                          "unsent message below",
                                                          "message header follows",
                                                          "original message headers",
                                                          "returned message",
                                                          "copy of the original message"};
  std::size_t best = std::string_view::npos;
  for (const std::string_view marker : markers) {
    const std::size_t at = body_lower.find(marker);
    if (at == std::string_view::npos) continue;
    const std::size_t line_start = body_lower.rfind('\n', at);
    const std::size_t start = line_start == std::string_view::npos ? 0 : line_start + 1;
    // Only a separator line counts ("------ This is a copy…", "--- Below this line…", "----- Original message…").
    const std::string_view prefix = trim_view(body_lower.substr(start, at - start));
    if (!prefix.empty() && prefix.find_first_not_of("-= ") == std::string_view::npos) best = std::min(best, start);
  }
  return best;
}

// "This is the mail system at host mail.example.org." (Postfix), "This is the qmail-send program at mail.x.org."
std::string reporting_host_in(std::string_view body) {
  const std::string lowered = lower(body.substr(0, 4096));
  for (const std::string_view marker :
       {std::string_view("this is the mail system at host "), std::string_view("this is the qmail-send program at "),
        std::string_view("mail delivery software on ")}) {
    const std::size_t at = lowered.find(marker);
    if (at == std::string::npos) continue;
    std::size_t start = at + marker.size();
    std::size_t end = start;
    while (end < lowered.size() &&
           (std::isalnum(static_cast<unsigned char>(lowered[end])) || lowered[end] == '.' || lowered[end] == '-')) {
      ++end;
    }
    std::string_view host = body.substr(start, end - start);
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (!host.empty()) return std::string(host);
  }
  return {};
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  return lines;
}

std::optional<Dsn> parse_plain_bounce_unchecked(std::string_view raw) {
  ensure_gmime_initialized();
  raw = raw.substr(0, kMaxRawBytes);
  std::string from_lower, subject_lower;
  std::vector<std::string> failed_recipients_header;
  Found found;
  GObjectPtr<GMimeMessage> message = construct_message(raw);
  if (message) {
    GMimeObject* object = GMIME_OBJECT(message.get());
    from_lower = lower(safe(g_mime_object_get_header(object, "From")));
    subject_lower = lower(safe(g_mime_message_get_subject(message.get())));
    // Exim names the failed recipients in a header of its own.
    const std::string failed = safe(g_mime_object_get_header(object, "X-Failed-Recipients"));
    std::size_t start = 0;
    while (start < failed.size() && failed_recipients_header.size() < kMaxDsnRecipients) {
      std::size_t comma = failed.find(',', start);
      if (comma == std::string::npos) comma = failed.size();
      std::string address = address_of(std::string_view(failed).substr(start, comma - start));
      if (address.find('@') != std::string::npos)
        failed_recipients_header.push_back(valid_utf8_prefix(address, kMaxFieldBytes));
      start = comma + 1;
    }
    PartWalker(found).walk(g_mime_message_get_mime_part(message.get()), 0);
  } else {
    found.plain = std::string(raw);
  }
  std::string body = found.plain ? *found.plain : found.html ? html_to_text(*found.html) : std::string();
  if (body.size() > kMaxScanBytes) body = utf8_prefix(std::move(body), kMaxScanBytes);
  const std::string body_lower = lower(body);
  if (!looks_like_bounce(from_lower, subject_lower, body_lower)) return std::nullopt;

  Dsn dsn;
  std::string postfix_sender;
  if (found.status_text) read_status_fields(*found.status_text, dsn, postfix_sender);
  dsn.human_readable = tidy_human_text(body);
  dsn.original_message_id = found.returned.message_id;
  dsn.original_return_path = found.returned.return_path;

  // The report part of the text: up to the returned copy, whose headers give the original Message-ID.
  const std::size_t copy_at = returned_copy_start(body_lower);
  const std::string_view report = std::string_view(body).substr(0, copy_at);
  if (copy_at != std::string_view::npos) {
    std::string_view copy = std::string_view(body).substr(copy_at);
    const std::size_t newline = copy.find('\n');
    copy = newline == std::string_view::npos ? std::string_view() : copy.substr(newline + 1);
    while (!copy.empty() && (copy.front() == '\n' || copy.front() == '\r')) copy.remove_prefix(1);
    read_returned_header_fields(copy, found.returned);
    if (dsn.original_message_id.empty()) dsn.original_message_id = found.returned.message_id;
    if (dsn.original_return_path.empty()) dsn.original_return_path = found.returned.return_path;
  }
  if (dsn.original_return_path.empty()) dsn.original_return_path = postfix_sender;
  dsn.reporting_mta = dsn.reporting_mta.empty() ? text::to_valid_utf8(reporting_host_in(report)) : dsn.reporting_mta;

  const bool delayed = looks_delayed(subject_lower, body_lower);
  if (dsn.recipients.empty()) {
    // Some MTAs paste the delivery-status fields into the text.
    Dsn pasted;
    std::string ignored;
    read_status_fields(report, pasted, ignored);
    for (DsnRecipient& recipient : pasted.recipients) {
      if (!recipient.final_recipient.empty() || !recipient.original_recipient.empty()) {
        dsn.recipients.push_back(std::move(recipient));
      }
    }
  }
  if (dsn.recipients.empty()) {
    // One section per address (Exchange names a recipient twice: for people, then for administrators).
    std::vector<Section> sections;
    std::unordered_map<std::string, std::size_t> index_of;  // lowercase address → sections index
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t current = kNone;     // the section being read
    std::size_t current_indent = 0;  // of the line that started it
    for (const std::string& line : split_lines(report)) {
      const std::string_view trimmed = trim_view(line);
      if (trimmed.empty()) {
        current = kNone;
        continue;
      }
      const std::size_t indent = line.find_first_not_of(" \t");
      // A line indented deeper than the section's first line continues it, even if it starts with an address
      // (Postfix folds "said: 550 5.1.1\n    <a@b>: Recipient address rejected").
      const bool continuation = current != kNone && indent > current_indent;
      if (auto start = continuation ? std::nullopt : recipient_start(trimmed)) {
        current_indent = indent;
        const std::string key = lower(start->first);
        if (const auto same = index_of.find(key); same != index_of.end()) {
          current = same->second;
          sections[same->second].lines.emplace_back(start->second);
          continue;
        }
        if (sections.size() >= kMaxDsnRecipients) break;
        sections.push_back({start->first, {std::string(start->second)}});
        current = sections.size() - 1;
        index_of.emplace(key, current);
        continue;
      }
      if (current != kNone) sections[current].lines.push_back(line);
    }
    for (const Section& section : sections) {
      const SectionReading reading = read_section(section);
      DsnRecipient recipient;
      recipient.final_recipient = text::to_valid_utf8(section.address);
      recipient.action = delayed ? "delayed" : "failed";
      recipient.remote_mta = text::to_valid_utf8(reading.remote_mta);
      if (!reading.reply.empty()) {
        recipient.diagnostic_code = valid_utf8_prefix("smtp; " + reading.reply, kMaxFieldBytes);
        recipient.status = reply_status(reading.reply);
      } else {
        recipient.diagnostic_code = valid_utf8_prefix(reading.explanation, kMaxFieldBytes);
      }
      dsn.recipients.push_back(std::move(recipient));
    }
  }
  if (dsn.recipients.empty()) {
    // No recipient lines: the X-Failed-Recipients header, and the first quoted reply anywhere in the report.
    Section whole;
    whole.lines = split_lines(report);
    const SectionReading reading = read_section(whole);
    if (failed_recipients_header.empty() && reading.reply.empty()) return std::nullopt;
    std::vector<std::string> addresses = failed_recipients_header;
    if (addresses.empty()) addresses.emplace_back();
    for (const std::string& address : addresses) {
      DsnRecipient recipient;
      recipient.final_recipient = address;
      recipient.action = delayed ? "delayed" : "failed";
      recipient.remote_mta = text::to_valid_utf8(reading.remote_mta);
      if (!reading.reply.empty()) {
        recipient.diagnostic_code = valid_utf8_prefix("smtp; " + reading.reply, kMaxFieldBytes);
        recipient.status = reply_status(reading.reply);
      }
      dsn.recipients.push_back(std::move(recipient));
    }
  }
  return dsn;
}

}  // namespace

std::optional<Dsn> parse_dsn(std::string_view raw) {
  try {
    return parse_dsn_unchecked(raw);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<Dsn> parse_plain_bounce(std::string_view raw) {
  try {
    return parse_plain_bounce_unchecked(raw);
  } catch (...) {
    return std::nullopt;
  }
}

SmtpReplyParts parse_diagnostic_code(std::string_view diagnostic) {
  SmtpReplyParts parts;
  std::string_view rest = trim_view(diagnostic.substr(0, 64u << 10));
  // The diagnostic type: "smtp;", "X-Postfix;", "X-Unix;".
  const std::size_t semicolon = rest.find(';');
  if (semicolon != std::string_view::npos && semicolon > 0 && semicolon <= 32 &&
      std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(semicolon), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    rest = trim_view(rest.substr(semicolon + 1));
  }
  if (rest.size() >= 3 && rest[0] >= '2' && rest[0] <= '5' && is_digit(rest[1]) && is_digit(rest[2]) &&
      (rest.size() == 3 || rest[3] == ' ' || rest[3] == '-' || rest[3] == '\t')) {
    parts.code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
    rest = trim_view(rest.substr(std::min<std::size_t>(4, rest.size())));
  }
  {
    std::string_view token = rest.substr(0, std::min(rest.find_first_of(" \t\r\n"), rest.size()));
    const bool hash = !token.empty() && token.front() == '#';
    if (hash) token.remove_prefix(1);
    if (is_status_code(token)) {
      parts.enhanced = std::string(token);
      rest = trim_view(rest.substr(token.size() + (hash ? 1 : 0)));
    }
  }
  std::string text(rest);
  if (parts.code != 0) {
    // A multi-line reply, unfolded, repeats "550-5.1.1 " (and a last "550 5.1.1 ") before each line.
    const std::string code = std::to_string(parts.code);
    std::string out;
    out.reserve(text.size());
    bool removed_continuation = false;
    std::size_t i = 0;
    while (i < text.size()) {
      const bool boundary = i == 0 || is_space(text[i - 1]);
      if (boundary && text.compare(i, 3, code) == 0 && i + 3 < text.size() &&
          (text[i + 3] == '-' || text[i + 3] == ' ')) {
        const bool continuation = text[i + 3] == '-';
        std::size_t after = i + 4;
        std::size_t token_end = after;
        while (token_end < text.size() && !is_space(text[token_end])) ++token_end;
        std::string_view token = std::string_view(text).substr(after, token_end - after);
        if (!token.empty() && token.front() == '#') token.remove_prefix(1);
        const bool with_enhanced = !parts.enhanced.empty() && token == parts.enhanced;
        bool strip = false;
        if (!parts.enhanced.empty()) {
          strip = with_enhanced;
        } else {
          strip = continuation || removed_continuation;
        }
        if (strip) {
          removed_continuation = removed_continuation || continuation;
          i = with_enhanced ? token_end : after;
          out += ' ';
          continue;
        }
      }
      out += text[i];
      ++i;
    }
    text = std::move(out);
  }
  parts.text = text::to_valid_utf8(collapse_spaces(text));
  return parts;
}

}  // namespace postroom::mime
