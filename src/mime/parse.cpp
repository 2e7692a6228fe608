// GMime-backed implementation of parse_message(). GMime is a GObject C API: every object we own is held in
// a GObjectPtr so early returns cannot leak, and nothing here throws past the public functions.
#include <gmime/gmime.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "mime/message.h"
#include "mime/text.h"

namespace postroom::mime {
namespace {

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

void ensure_gmime_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string safe(const char* text) { return text ? std::string(text) : std::string(); }

// 7-bit text without NUL bytes (which g_utf8_validate refuses): valid UTF-8 as it is. Eight bytes at a time.
bool plain_ascii(std::string_view text) {
  const char* p = text.data();
  std::size_t n = text.size();
  constexpr std::uint64_t kLow = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if ((word & kHigh) || ((word - kLow) & ~word & kHigh)) return false;
  }
  for (; n > 0; ++p, --n) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

// The charsets text::to_utf8() treats as UTF-8 (its first branch).
bool utf8_compatible(const char* charset) {
  if (!charset) return true;
  const std::string name = text::ascii_lower(text::trim(charset));
  return name.empty() || name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii";
}

const char* warning_name(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER:
      return "duplicated header parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      return "unencoded 8-bit characters in header";
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      return "invalid content type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return "invalid RFC 2047 encoded header value";
    case GMIME_WARN_MALFORMED_MULTIPART:
      return "multipart without child parts";
    case GMIME_WARN_TRUNCATED_MESSAGE:
      return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE:
      return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME:
      return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER:
      return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      return "conflicting header parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return "multipart without boundary";
    case GMIME_WARN_INVALID_PARAMETER:
      return "invalid header parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW:
      return "MIME nesting too deep";
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      return "part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return "part without headers or content";
  }
  return "parser warning";
}

struct WarningSink {
  std::vector<std::string>* problems;
  std::size_t dropped = 0;
  // Set while GMime reads a header section alone, whose part it then finds without content.
  bool header_section_only = false;
};
constexpr std::size_t kMaxProblems = 100;

void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer user_data) {
  auto* sink = static_cast<WarningSink*>(user_data);
  if (sink->header_section_only && code == GMIME_WARN_PART_WITHOUT_CONTENT) return;
  if (sink->problems->size() >= kMaxProblems) {
    ++sink->dropped;
    return;
  }
  std::string text = warning_name(code);
  if (item && *item) {
    std::string shown(item, strnlen(item, 80));
    text += ": " + text::printable(shown);
  }
  text += " (offset " + std::to_string(offset) + ")";
  sink->problems->push_back(std::move(text));
}

// GMimeParserOptions is a plain struct with its own free function, not a GObject.
struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const {
    if (options) g_mime_parser_options_free(options);
  }
};
using ParserOptionsPtr = std::unique_ptr<GMimeParserOptions, ParserOptionsFree>;

ParserOptionsPtr make_options(WarningSink* sink) {
  ParserOptionsPtr options(g_mime_parser_options_new());
  g_mime_parser_options_set_address_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_allow_addresses_without_domain(options.get(), TRUE);
  // Undeclared 8-bit header text: try UTF-8 first, then the most common legacy charset.
  static const char* fallback[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);
  if (sink) g_mime_parser_options_set_warning_callback(options.get(), on_parser_warning, sink);
  return options;
}

// The message bytes lent to GMime without a copy (g_mime_stream_mem_new_with_buffer copies the whole message): a
// byte array over `raw` that its stream, and every substream the parser cuts from it, reads but does not own.
class BorrowedBytes {
 public:
  explicit BorrowedBytes(std::string_view raw)
      : array_(g_byte_array_new_take(reinterpret_cast<guint8*>(const_cast<char*>(raw.data())), raw.size())) {}
  ~BorrowedBytes() { g_byte_array_free(array_, FALSE); }  // FALSE: the bytes are the caller's
  BorrowedBytes(const BorrowedBytes&) = delete;
  BorrowedBytes& operator=(const BorrowedBytes&) = delete;
  GByteArray* get() const { return array_; }

 private:
  GByteArray* array_;
};

// A parsed message and the bytes it reads from; the message (and every stream it holds) goes first.
struct Constructed {
  std::unique_ptr<BorrowedBytes> bytes;
  GObjectPtr<GMimeMessage> message;

  Constructed() = default;
  Constructed(Constructed&&) noexcept = default;
  Constructed& operator=(Constructed&& other) noexcept {
    message = std::move(other.message);  // the old message before the bytes it may read
    bytes = std::move(other.bytes);
    return *this;
  }
};

Constructed construct(std::string_view raw, GMimeParserOptions* options) {
  Constructed out;
  out.bytes = std::make_unique<BorrowedBytes>(raw);
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(out.bytes->get()));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), FALSE);
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  out.message.reset(g_mime_parser_construct_message(parser.get(), options));
  return out;
}

// GMime gives up when the very first line is not a header. A message indented by whitespace is still
// readable without the indentation.
Constructed construct_lenient(std::string_view raw, GMimeParserOptions* options) {
  Constructed constructed = construct(raw, options);
  if (constructed.message) return constructed;
  const std::size_t start = raw.find_first_not_of(" \t");
  if (start != 0 && start != std::string_view::npos && raw[start] != '\r' && raw[start] != '\n') {
    constructed = construct(raw.substr(start), options);
  }
  return constructed;
}

void collect_addresses(InternetAddressList* list, std::vector<Address>& out, int depth = 0) {
  if (!list || depth > 2) return;
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count && out.size() < 10000; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      auto* mailbox = INTERNET_ADDRESS_MAILBOX(address);
      out.push_back({text::to_valid_utf8(safe(internet_address_get_name(address))),
                     text::to_valid_utf8(safe(internet_address_mailbox_get_addr(mailbox)))});
    } else if (INTERNET_ADDRESS_IS_GROUP(address)) {
      // Group syntax ("Team: a@x, b@y;"): the members are the recipients; the group name is not an address.
      collect_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out, depth + 1);
    }
  }
}

std::vector<Address> addresses_of(GMimeMessage* message, GMimeAddressType type) {
  std::vector<Address> out;
  collect_addresses(g_mime_message_get_addresses(message, type), out);
  return out;
}

std::string bytes_of(GByteArray* array) {
  if (!array || !array->data) return {};
  return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  if (!wrapper) return {};
  if (g_mime_data_wrapper_get_encoding(wrapper) == GMIME_CONTENT_ENCODING_BASE64) {
    // GMime drops a trailing incomplete base64 quantum; mail clients (and Python) decode it, so do we.
    if (GMimeStream* encoded = g_mime_data_wrapper_get_stream(wrapper)) {
      GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
      g_mime_stream_reset(encoded);
      g_mime_stream_write_to_stream(encoded, memory.get());
      g_mime_stream_reset(encoded);
      return text::base64_decode_lenient(bytes_of(g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()))));
    }
  }
  GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(wrapper, memory.get());
  return bytes_of(g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get())));
}

std::string serialized(GMimeObject* object) {
  GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
  g_mime_object_write_to_stream(object, nullptr, memory.get());
  return bytes_of(g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get())));
}

std::string mime_type_of(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (!type) return "application/octet-stream";
  GCharPtr text(g_mime_content_type_get_mime_type(type));
  return text ? text::ascii_lower(text.get()) : std::string("application/octet-stream");
}

std::string transfer_encoding_of(GMimeObject* object) {
  std::string value =
      text::ascii_lower(text::trim(safe(g_mime_object_get_header(object, "Content-Transfer-Encoding"))));
  return value.empty() ? "7bit" : text::printable(value.substr(0, 64));
}

std::string disposition_of(GMimeObject* object) {
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
  if (!disposition) return {};
  return text::ascii_lower(text::trim(safe(g_mime_content_disposition_get_disposition(disposition))));
}

// Walks the MIME tree in document order and sorts leaf parts into bodies and attachments. The rules are
// mirrored by tests/mime_expected.py, which computes the same summary with Python's email package.
class TreeWalker {
 public:
  TreeWalker(ParsedMessage& out, const ParseOptions& options, std::optional<std::size_t> wanted_attachment)
      : out_(out), options_(options), wanted_(wanted_attachment) {}

  // The content of `part`, when GMime read only its headers (a single-part message).
  void set_content(GMimePart* part, std::string_view content) {
    given_part_ = part;
    given_content_ = content;
  }

  void walk(GMimeObject* object, std::size_t depth) {
    if (!object || stopped_) return;
    if (depth > options_.max_depth) {
      note_once(depth_noted_, "MIME nesting deeper than " + std::to_string(options_.max_depth) + " levels ignored");
      return;
    }
    if (++parts_seen_ > options_.max_parts) {
      note_once(parts_noted_, "more than " + std::to_string(options_.max_parts) + " MIME parts; the rest ignored");
      stopped_ = true;
      return;
    }
    if (GMIME_IS_MULTIPART(object)) {
      auto* multipart = GMIME_MULTIPART(object);
      const int count = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < count && !stopped_; ++i) walk(g_mime_multipart_get_part(multipart, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      // An attached message (message/rfc822, message/global) is one attachment, not more body parts.
      add_attachment(object, [object] {
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        return inner ? serialized(GMIME_OBJECT(inner)) : std::string();
      });
      return;
    }
    if (!GMIME_IS_PART(object)) return;
    auto* part = GMIME_PART(object);
    const std::string type = mime_type_of(object);
    const std::string disposition = disposition_of(object);
    const bool named = g_mime_part_get_filename(part) != nullptr;
    const bool body_candidate = !named && disposition != "attachment" && (type == "text/plain" || type == "text/html");
    if (body_candidate) {
      std::optional<std::string>& slot = type == "text/plain" ? out_.text_body : out_.html_body;
      if (!slot && !wanted_) slot = text_of(part);
      if (!slot && wanted_) slot = std::string();  // attachment lookup: only the numbering matters
      // A later text part that is neither named nor an attachment (e.g. a second inline text in a mixed
      // message) is body text a client would show inline; it is not listed as an attachment.
      return;
    }
    add_attachment(object, [this, part] { return content_of(part); });
  }

  std::optional<std::string> found;

 private:
  template <typename ContentFn>
  void add_attachment(GMimeObject* object, ContentFn&& content) {
    const std::size_t index = next_index_++;
    if (wanted_) {
      if (index == *wanted_) {
        found = content();
        stopped_ = true;
      }
      return;
    }
    AttachmentInfo info;
    info.index = index;
    if (GMIME_IS_PART(object)) {
      info.filename = text::to_valid_utf8(safe(g_mime_part_get_filename(GMIME_PART(object))));
      info.content_id = text::to_valid_utf8(safe(g_mime_part_get_content_id(GMIME_PART(object))));
    } else {
      info.content_id = text::to_valid_utf8(text::strip_angle_brackets(safe(g_mime_object_get_content_id(object))));
    }
    info.content_type = text::to_valid_utf8(mime_type_of(object));
    // Without a Content-Disposition, a part with a Content-ID is referenced from the HTML (cid:), so inline.
    const std::string disposition = disposition_of(object);
    info.disposition =
        disposition == "inline" || (disposition.empty() && !info.content_id.empty()) ? "inline" : "attachment";
    info.transfer_encoding = transfer_encoding_of(object);
    std::string bytes = content();
    info.size = bytes.size();
    if (options_.keep_attachment_content) info.content = std::move(bytes);
    out_.attachments.push_back(std::move(info));
  }

  std::string content_of(GMimePart* part) const {
    return part == given_part_ ? std::string(given_content_) : decoded_content(part);
  }

  std::string text_of(GMimePart* part) {
    std::string bytes = content_of(part);
    const char* charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    // What to_utf8() returns unchanged, without its byte-by-byte validation and copy.
    if (utf8_compatible(charset) && plain_ascii(bytes)) return bytes;
    bool converted = true;
    std::string result = text::to_utf8(bytes, charset ? std::string_view(charset) : std::string_view(), &converted);
    if (!converted) {
      out_.problems.push_back("body charset \"" + text::printable(safe(charset).substr(0, 40)) +
                              "\" could not be converted; invalid bytes replaced");
    }
    return result;
  }

  void note_once(bool& flag, std::string text) {
    if (flag) return;
    flag = true;
    out_.problems.push_back(std::move(text));
  }

  ParsedMessage& out_;
  const ParseOptions& options_;
  std::optional<std::size_t> wanted_;
  GMimePart* given_part_ = nullptr;
  std::string_view given_content_;
  std::size_t next_index_ = 0;
  std::size_t parts_seen_ = 0;
  bool stopped_ = false;
  bool depth_noted_ = false;
  bool parts_noted_ = false;
};

void read_headers(GMimeObject* object, ParsedMessage& out) {
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  if (!list) return;
  const int count = g_mime_header_list_get_count(list);
  for (int i = 0; i < count && out.headers.size() < 10000; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
    if (!header) continue;
    out.headers.push_back({text::to_valid_utf8(safe(g_mime_header_get_name(header))),
                           text::to_valid_utf8(text::trim(safe(g_mime_header_get_value(header))))});
  }
}

// Just past the blank line that ends the header section; nullopt without one, or when the message starts blank.
std::optional<std::size_t> header_section_end(std::string_view raw) {
  for (std::size_t lf = raw.find('\n'); lf != std::string_view::npos; lf = raw.find('\n', lf + 1)) {
    if (lf == 0 || (lf == 1 && raw[0] == '\r')) return std::nullopt;
    if (lf + 1 < raw.size() && raw[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < raw.size() && raw[lf + 1] == '\r' && raw[lf + 2] == '\n') return lf + 3;
  }
  return std::nullopt;
}

// False when the header section's own Content-Type or Content-Transfer-Encoding rules the shortcut out (a multipart,
// an attached message, a transfer encoding to decode): GMime would then read those headers twice. Only a hint;
// single_identity_part decides.
bool may_be_single_identity_part(std::string_view headers) {
  const auto value_of = [](std::string_view line, std::string_view name) -> std::optional<std::string> {
    if (line.size() <= name.size() || line[name.size()] != ':' ||
        !text::equals_ignore_case(line.substr(0, name.size()), name))
      return std::nullopt;
    return text::ascii_lower(text::trim(line.substr(name.size() + 1)));
  };
  for (std::size_t start = 0; start < headers.size();) {
    const std::size_t lf = headers.find('\n', start);
    const std::string_view line = headers.substr(start, lf == std::string_view::npos ? lf : lf - start);
    start = lf == std::string_view::npos ? headers.size() : lf + 1;
    if (const auto type = value_of(line, "content-type")) {
      if (type->starts_with("multipart/") || type->starts_with("message/")) return false;
    } else if (const auto encoding = value_of(line, "content-transfer-encoding")) {
      if (!encoding->empty() && !encoding->starts_with("7bit") && !encoding->starts_with("8bit") &&
          !encoding->starts_with("binary"))
        return false;
    }
  }
  return true;
}

// The message's only part when GMime, given the header section alone, made one leaf part whose (empty) content
// needs no decoding: then the rest of the message is that content byte for byte.
GMimePart* single_identity_part(GMimeMessage* message) {
  GMimeObject* top = g_mime_message_get_mime_part(message);
  if (!top || !GMIME_IS_PART(top)) return nullptr;
  auto* part = GMIME_PART(top);
  switch (g_mime_part_get_content_encoding(part)) {
    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
      break;
    default:
      return nullptr;
  }
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  GMimeStream* content = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : nullptr;
  if (!content || g_mime_stream_length(content) != 0) return nullptr;  // GMime ended the headers elsewhere
  return part;
}

void parse_into(std::string_view raw, const ParseOptions& options, ParsedMessage& out) {
  ensure_gmime_initialized();
  WarningSink sink{&out.problems};
  ParserOptionsPtr parser_options = make_options(&sink);
  Constructed constructed;
  GMimePart* single_part = nullptr;
  std::string_view single_part_content;
  if (options.single_part_shortcut) {
    const std::optional<std::size_t> end = header_section_end(raw);
    if (end && *end < raw.size() && may_be_single_identity_part(raw.substr(0, *end))) {
      sink.header_section_only = true;
      constructed = construct(raw.substr(0, *end), parser_options.get());
      sink.header_section_only = false;
      if (constructed.message) single_part = single_identity_part(constructed.message.get());
      if (single_part) {
        single_part_content = raw.substr(*end);
      } else {
        constructed = {};
        out.problems.clear();
        sink.dropped = 0;
      }
    }
  }
  if (!constructed.message) constructed = construct_lenient(raw, parser_options.get());
  GMimeMessage* const message = constructed.message.get();
  if (!message) {
    // Anything GMime cannot read as a message is kept as a plain-text body so nothing is lost.
    out.problems.push_back("no header section; the whole message is kept as text");
    out.text_body = text::to_utf8(raw, {});
    out.text_body_size = out.text_body->size();
    return;
  }
  auto* object = GMIME_OBJECT(message);
  read_headers(object, out);
  // GMime keeps the top-level Content-* headers on the message's MIME part, not on the message itself.
  if (GMimeObject* top = g_mime_message_get_mime_part(message)) read_headers(top, out);

  std::vector<Address> from = addresses_of(message, GMIME_ADDRESS_TYPE_FROM);
  if (!from.empty()) out.from = from.front();
  out.sender = addresses_of(message, GMIME_ADDRESS_TYPE_SENDER);
  out.reply_to = addresses_of(message, GMIME_ADDRESS_TYPE_REPLY_TO);
  out.to = addresses_of(message, GMIME_ADDRESS_TYPE_TO);
  out.cc = addresses_of(message, GMIME_ADDRESS_TYPE_CC);
  out.bcc = addresses_of(message, GMIME_ADDRESS_TYPE_BCC);
  out.subject = text::to_valid_utf8(text::trim(safe(g_mime_message_get_subject(message))));
  out.message_id = text::to_valid_utf8(safe(g_mime_message_get_message_id(message)));
  out.in_reply_to = text::to_valid_utf8(text::trim(safe(g_mime_object_get_header(object, "In-Reply-To"))));
  out.x_mailer = text::to_valid_utf8(text::trim(safe(g_mime_object_get_header(object, "X-Mailer"))));
  if (g_mime_object_get_header(object, "Date")) {
    if (GDateTime* date = g_mime_message_get_date(message)) {
      out.date = g_date_time_to_unix(date);
    } else {
      out.problems.push_back("unparseable Date header");
    }
  }
  if (!out.from) out.problems.push_back("no From address");

  TreeWalker walker(out, options, std::nullopt);
  if (single_part) walker.set_content(single_part, single_part_content);
  walker.walk(g_mime_message_get_mime_part(message), 0);
  if (out.text_body) out.text_body_size = out.text_body->size();
  if (out.html_body) out.html_body_size = out.html_body->size();
  if (sink.dropped) out.problems.push_back(std::to_string(sink.dropped) + " more parser warnings not shown");
}

}  // namespace

ParsedMessage parse_message(std::string_view raw, const ParseOptions& options) {
  ParsedMessage out;
  out.size = raw.size();
  try {
    parse_into(raw, options, out);
  } catch (const std::exception& error) {
    out.problems.push_back(std::string("parse aborted: ") + error.what());
  }
  return out;
}

std::optional<std::string> attachment_content(std::string_view raw, std::size_t index) {
  try {
    ensure_gmime_initialized();
    ParserOptionsPtr parser_options = make_options(nullptr);
    const Constructed constructed = construct_lenient(raw, parser_options.get());
    if (!constructed.message) return std::nullopt;
    ParsedMessage scratch;
    ParseOptions options;
    TreeWalker walker(scratch, options, index);
    walker.walk(g_mime_message_get_mime_part(constructed.message.get()), 0);
    return std::move(walker.found);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<Address> bcc_from_envelope(const std::vector<std::string>& envelope_recipients,
                                       const ParsedMessage& parsed) {
  std::unordered_set<std::string> visible;
  for (const auto* list : {&parsed.to, &parsed.cc}) {
    for (const Address& address : *list) visible.insert(text::ascii_lower(address.email));
  }
  std::vector<Address> bcc;
  for (const std::string& recipient : envelope_recipients) {
    std::string email = text::strip_angle_brackets(text::trim(recipient));
    std::string key = text::ascii_lower(email);
    if (key.empty() || !visible.insert(key).second) continue;
    bcc.push_back({"", std::move(email)});
  }
  return bcc;
}

}  // namespace postroom::mime
