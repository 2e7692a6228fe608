// The outgoing-message writer. Our own code rather than GMime's serializer so the bytes are fully under our
// control (DKIM signs exactly what this produces, and tests can pin it with BuildOptions).
#include "mime/build.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>
#include <string_view>

#include "mime/text.h"

namespace postroom::mime {
namespace {

constexpr std::size_t kPreferredLine = 78;
constexpr std::size_t kMaxLine = 998;

std::string random_hex(std::size_t length) {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    std::uint64_t bits = engine();
    for (int i = 0; i < 16 && out.size() < length; ++i, bits >>= 4) out += kDigits[bits & 15];
  }
  return out;
}

std::string strip_line_breaks(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\r' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (c != '\0') {
      out += c;
    }
  }
  return out;
}

// One header field, folded at whitespace to keep lines near 78 octets and always ≤ 998. A run without
// whitespace longer than that is split hard, the last resort that keeps the message valid.
std::string fold(std::string_view name, std::string_view value) {
  std::string all = std::string(name) + ": ";
  std::size_t line_start = 0;
  std::string_view rest = value;
  while (!rest.empty()) {
    // The next word includes its leading whitespace, which is where a fold may go.
    std::size_t word_end = 1;
    while (word_end < rest.size() && rest[word_end] != ' ' && rest[word_end] != '\t') ++word_end;
    std::string_view word = rest.substr(0, word_end);
    rest.remove_prefix(word_end);
    const std::size_t current = all.size() - line_start;
    if (current + word.size() > kPreferredLine && (word.front() == ' ' || word.front() == '\t') &&
        current > name.size() + 2) {
      all += "\r\n";
      line_start = all.size();
    }
    for (char c : word) {
      if (all.size() - line_start >= kMaxLine) {
        all += "\r\n ";
        line_start = all.size() - 1;
      }
      all += c;
    }
  }
  all += "\r\n";
  return all;
}

std::string format_date(std::int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

// Built with append: GCC 12 reports a false -Wrestrict for `"<" + std::string&&`.
std::string angle_bracketed(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 2);
  out += '<';
  out += id;
  out += '>';
  return out;
}

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (unsigned char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

bool is_reserved_header(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kReserved = {
      "from",  "to",         "cc",           "bcc",           "subject",
      "date",  "message-id", "mime-version", "x-mt-category", "x-mt-custom-variables",
      "sender"};
  const std::string lower = text::ascii_lower(name);
  if (lower.rfind("content-", 0) == 0) return true;
  for (std::string_view reserved : kReserved) {
    if (lower == reserved) return true;
  }
  return false;
}

bool is_token_char(unsigned char c) {
  return c > 32 && c < 127 &&
         std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

std::string safe_mime_type(std::string_view type, std::string_view fallback) {
  const std::string lower = text::ascii_lower(text::trim(type));
  const std::size_t slash = lower.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == lower.size() || lower.size() > 200) {
    return std::string(fallback);
  }
  for (std::size_t i = 0; i < lower.size(); ++i) {
    if (i != slash && !is_token_char(static_cast<unsigned char>(lower[i]))) return std::string(fallback);
  }
  return lower;
}

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// `; name="value"` for ASCII values; RFC 2231 (UTF-8, percent-encoded, split into continuations) otherwise.
std::string parameter(std::string_view name, std::string_view value) {
  std::string clean = strip_line_breaks(value);
  bool plain = clean.size() <= 200;
  for (unsigned char c : clean) {
    if (c < 0x20 || c >= 0x7f) plain = false;
  }
  if (plain) return ";\r\n " + std::string(name) + "=" + quoted(clean);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text::to_valid_utf8(clean)) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      encoded += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  std::string out;
  constexpr std::size_t kChunk = 60;
  std::size_t index = 0;
  for (std::size_t i = 0; i < encoded.size(); ++index) {
    std::size_t end = std::min(encoded.size(), i + kChunk);
    // Keep %XX triplets whole.
    if (end < encoded.size() && end >= 1 && encoded[end - 1] == '%')
      end -= 1;
    else if (end < encoded.size() && end >= 2 && encoded[end - 2] == '%')
      end -= 2;
    out += ";\r\n " + std::string(name) + "*" + std::to_string(index) + "*=" + (index == 0 ? "UTF-8''" : "") +
           encoded.substr(i, end - i);
    i = end;
  }
  return out;
}

std::string normalize_line_ends(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool fits_7bit(std::string_view normalized) {
  std::size_t column = 0;
  for (std::size_t i = 0; i < normalized.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(normalized[i]);
    if (c >= 0x80 || c == 0) return false;
    if (c == '\n') {
      column = 0;
    } else if (++column > kMaxLine) {
      return false;
    }
  }
  return true;
}

class Writer {
 public:
  explicit Writer(const BuildOptions& options) : seed_(options.boundary_seed) {}

  std::string boundary() {
    ++boundaries_;
    // "=_" cannot occur in base64 or quoted-printable output, so the boundary never collides with content.
    return "=_postroom_" + (seed_.empty() ? random_hex(24) : seed_ + "_" + std::to_string(boundaries_));
  }

  static std::string text_part(std::string_view subtype, std::string_view body) {
    const std::string normalized = normalize_line_ends(body);
    std::string out = "Content-Type: text/" + std::string(subtype) + "; charset=UTF-8\r\n";
    if (fits_7bit(normalized)) {
      out += "Content-Transfer-Encoding: 7bit\r\n\r\n" + normalized;
    } else {
      std::size_t high = 0;
      for (unsigned char c : body) high += c >= 0x80;
      // Mostly non-Latin text is shorter in base64 than in quoted-printable.
      if (high * 3 > body.size()) {
        out += "Content-Transfer-Encoding: base64\r\n\r\n" + text::base64_encode_lines(text::to_valid_utf8(body));
      } else {
        std::string encoded = text::quoted_printable_encode(text::to_valid_utf8(body));
        // A soft line break at the end keeps the line end that must follow from becoming part of the text.
        if (!encoded.empty() && encoded.back() != '\n') encoded += "=\r\n";
        out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded;
      }
    }
    return out;
  }

  static std::string attachment_part(const OutgoingAttachment& attachment) {
    const std::string type = safe_mime_type(attachment.type, "application/octet-stream");
    const bool inline_part = text::ascii_lower(text::trim(attachment.disposition)) == "inline";
    std::string out = "Content-Type: " + type;
    if (!attachment.filename.empty()) out += parameter("name", attachment.filename);
    out += "\r\nContent-Transfer-Encoding: base64\r\n";
    out += inline_part ? "Content-Disposition: inline" : "Content-Disposition: attachment";
    if (!attachment.filename.empty()) out += parameter("filename", attachment.filename);
    out += "\r\n";
    std::string content_id;
    for (char c : text::strip_angle_brackets(text::trim(attachment.content_id))) {
      if (c > 32 && c < 127 && c != '<' && c != '>') content_id += c;
    }
    if (!content_id.empty()) out += fold("Content-ID", angle_bracketed(content_id));
    out += "\r\n" + text::base64_encode_lines(attachment.content);
    return out;
  }

  std::string multipart(std::string_view subtype, const std::vector<std::string>& parts) {
    const std::string marker = boundary();
    std::string out = "Content-Type: multipart/" + std::string(subtype) + ";\r\n boundary=\"" + marker + "\"\r\n\r\n";
    for (const std::string& part : parts) out += "--" + marker + "\r\n" + part + "\r\n";
    out += "--" + marker + "--\r\n";
    return out;
  }

 private:
  std::string seed_;
  int boundaries_ = 0;
};

std::string address_list(const std::vector<Address>& addresses) {
  std::string out;
  for (const Address& address : addresses) {
    if (!out.empty()) out += ", ";
    out += format_address(address);
  }
  return out;
}

}  // namespace

std::string rfc5322_date(std::int64_t unix_seconds) { return format_date(unix_seconds); }

std::string new_message_id(const std::string& domain) {
  return random_hex(32) + "@" + (domain.empty() ? std::string("postroom.localhost") : domain);
}

std::string format_address(const Address& address) {
  const std::string email = strip_line_breaks(address.email);
  const std::string name = text::trim(strip_line_breaks(address.name));
  if (name.empty()) return email;
  return text::encode_display_name(name) + " <" + email + ">";
}

std::string build_message(const OutgoingMessage& message, const BuildOptions& options) {
  Writer writer(options);
  std::string head;
  const std::int64_t now = options.date.value_or(static_cast<std::int64_t>(std::time(nullptr)));
  head += fold("Date", format_date(now));
  head += fold("From", format_address(message.from));
  if (!message.to.empty()) head += fold("To", address_list(message.to));
  if (!message.cc.empty()) head += fold("Cc", address_list(message.cc));
  if (!message.reply_to.empty()) head += fold("Reply-To", address_list(message.reply_to));
  head += fold("Subject", text::encode_header_text(strip_line_breaks(message.subject)));
  const std::string message_id =
      options.message_id.empty() ? new_message_id(options.message_id_domain) : strip_line_breaks(options.message_id);
  head += fold("Message-ID", angle_bracketed(text::strip_angle_brackets(message_id)));
  head += "MIME-Version: 1.0\r\n";
  if (!message.category.empty()) {
    head += fold("X-MT-Category", text::encode_header_text(strip_line_breaks(message.category)));
  }
  if (!message.custom_variables.empty()) {
    head += fold("X-MT-Custom-Variables", strip_line_breaks(message.custom_variables));
  }
  for (const auto& [name, value] : message.headers) {
    if (!is_field_name(name) || is_reserved_header(name)) continue;
    if (text::equals_ignore_case(name, "reply-to") && !message.reply_to.empty()) continue;
    head += fold(name, text::encode_header_text(strip_line_breaks(value)));
  }

  std::vector<std::string> inline_parts;
  std::vector<std::string> attached_parts;
  const bool has_html = message.html.has_value();
  for (const OutgoingAttachment& attachment : message.attachments) {
    const bool related =
        has_html && !attachment.content_id.empty() && text::ascii_lower(text::trim(attachment.disposition)) == "inline";
    (related ? inline_parts : attached_parts).push_back(Writer::attachment_part(attachment));
  }

  std::string html_tree;
  if (has_html) {
    html_tree = Writer::text_part("html", *message.html);
    if (!inline_parts.empty()) {
      inline_parts.insert(inline_parts.begin(), html_tree);
      html_tree = writer.multipart("related", inline_parts);
    }
  }
  std::string body_tree;
  if (message.text && has_html) {
    body_tree = writer.multipart("alternative", {Writer::text_part("plain", *message.text), html_tree});
  } else if (has_html) {
    body_tree = html_tree;
  } else {
    body_tree = Writer::text_part("plain", message.text.value_or(""));
  }
  if (!attached_parts.empty()) {
    attached_parts.insert(attached_parts.begin(), body_tree);
    body_tree = writer.multipart("mixed", attached_parts);
  }
  // body_tree starts with its own Content-* headers, then the blank line and the body.
  std::string out = head + body_tree;
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

}  // namespace postroom::mime
