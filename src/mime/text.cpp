#include "mime/text.h"

#include <glib.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>

namespace postroom::mime::text {
namespace {

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHex[] = "0123456789ABCDEF";

struct GFreeDeleter {
  void operator()(void* memory) const { g_free(memory); }
};

// Converts with GLib's iconv wrapper; nullopt when the charset is unknown or the bytes do not fit it.
std::optional<std::string> convert(std::string_view bytes, const char* charset) {
  gsize written = 0;
  GError* error = nullptr;
  std::unique_ptr<char, GFreeDeleter> result(
      g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", charset, nullptr, &written, &error));
  if (error) g_error_free(error);
  if (!result) return std::nullopt;
  return std::string(result.get(), written);
}

bool is_atext(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string strip_angle_brackets(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  return std::string(text);
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [&](char x, char y) { return lower(x) == lower(y); });
}

bool is_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool is_valid_utf8(std::string_view text) {
  return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr);
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::unique_ptr<char, GFreeDeleter> valid(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  return valid ? std::string(valid.get()) : std::string();
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return to_valid_utf8(out);
}

std::string to_utf8(std::string_view bytes, std::string_view charset, bool* converted) {
  if (converted) *converted = true;
  const std::string name = ascii_lower(trim(charset));
  if (name.empty() || name == "utf-8" || name == "utf8" || name == "us-ascii" || name == "ascii") {
    if (is_valid_utf8(bytes)) return std::string(bytes);
    if (name.empty() || name == "us-ascii" || name == "ascii") {
      // Undeclared or mislabelled 8-bit text is nearly always windows-1252 in practice.
      if (auto text = convert(bytes, "WINDOWS-1252")) return *text;
    }
    if (converted) *converted = false;
    return to_valid_utf8(bytes);
  }
  const char* iconv_name = g_mime_charset_iconv_name(name.c_str());
  if (auto text = convert(bytes, iconv_name ? iconv_name : name.c_str())) return to_valid_utf8(*text);
  if (converted) *converted = false;
  return to_valid_utf8(bytes);
}

namespace {

// Writes base64 of `bytes` to `out`, with CRLF after every 76 characters when `lines`. `out` must be large
// enough. Lines are 19 whole quanta, so breaks fall between 4-character groups.
void base64_write(std::string_view bytes, char* out, bool lines) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t whole = bytes.size() / 3 * 3;
  std::size_t o = 0;
  int groups_on_line = 0;
  for (std::size_t i = 0; i < whole; i += 3) {
    if (lines && groups_on_line == 19) {
      out[o++] = '\r';
      out[o++] = '\n';
      groups_on_line = 0;
    }
    const unsigned v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
    out[o] = kBase64Alphabet[v >> 18];
    out[o + 1] = kBase64Alphabet[(v >> 12) & 63];
    out[o + 2] = kBase64Alphabet[(v >> 6) & 63];
    out[o + 3] = kBase64Alphabet[v & 63];
    o += 4;
    ++groups_on_line;
  }
  if (const std::size_t rest = bytes.size() - whole; rest > 0) {
    if (lines && groups_on_line == 19) {
      out[o++] = '\r';
      out[o++] = '\n';
    }
    unsigned v = data[whole] << 16;
    if (rest == 2) v |= data[whole + 1] << 8;
    out[o] = kBase64Alphabet[v >> 18];
    out[o + 1] = kBase64Alphabet[(v >> 12) & 63];
    out[o + 2] = rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out[o + 3] = '=';
  }
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  base64_write(bytes, out.data(), false);
  return out;
}

std::string base64_encode_lines(std::string_view bytes) {
  const std::size_t flat = (bytes.size() + 2) / 3 * 4;
  const std::size_t breaks = flat == 0 ? 0 : (flat - 1) / 76;
  std::string out(flat + breaks * 2, '\0');
  base64_write(bytes, out.data(), true);
  return out;
}

const std::array<int, 256>& base64_table() {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
    return t;
  }();
  return table;
}

std::string base64_decode_lenient(std::string_view text) {
  const auto& table = base64_table();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t o = 0;
  unsigned buffer = 0;
  int quantum_position = 0;
  int pads = 0;
  for (unsigned char c : text) {
    const int value = table[c];
    if (value < 0) {
      // Padding that completes a quantum ends the data; anything after it (a mangled boundary, an
      // epilogue) is not content. Other characters, and stray '=', are skipped.
      if (c == '=' && quantum_position >= 2 && quantum_position + ++pads >= 4) break;
      continue;
    }
    pads = 0;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    switch (++quantum_position) {
      case 2:
        out[o++] = static_cast<char>((buffer >> 4) & 0xff);
        break;
      case 3:
        out[o++] = static_cast<char>((buffer >> 2) & 0xff);
        break;
      case 4:
        out[o++] = static_cast<char>(buffer & 0xff);
        quantum_position = 0;
        buffer = 0;
        break;
      default:
        break;
    }
  }
  out.resize(o);
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  const auto& table = base64_table();
  out.clear();
  out.reserve(text.size() / 4 * 3);
  unsigned buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;
  std::size_t padding = 0;
  for (unsigned char c : text) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    const int value = table[c];
    if (value < 0) return false;
    ++symbols;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  const std::size_t remainder = symbols % 4;
  if (remainder == 1 || padding > 2) return false;
  if (padding > 0 && (symbols + padding) % 4 != 0) return false;
  return true;
}

std::string quoted_printable_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    const bool last = end == std::string_view::npos;
    if (last) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      const bool at_end = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end)) {
        piece = static_cast<char>(c);
      } else {
        piece = {'=', kHex[c >> 4], kHex[c & 15]};
      }
      // Soft break so no encoded line exceeds 76 characters including the trailing '='.
      if (column + piece.size() > 75) {
        out += "=\r\n";
        column = 0;
      }
      out += piece;
      column += piece.size();
    }
    if (last) break;
    out += "\r\n";
    start = end + 1;
  }
  return out;
}

std::string encode_header_text(std::string_view utf8) {
  bool plain = true;
  for (unsigned char c : utf8) {
    if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) plain = false;
  }
  // An existing "=?" in plain text would be decoded by readers as an encoded-word; encode it instead.
  if (plain && utf8.find("=?") == std::string_view::npos) return std::string(utf8);
  const std::string valid = to_valid_utf8(utf8);
  // 45 input bytes → 60 base64 characters; with "=?UTF-8?B?" and "?=" each word stays ≤ 72 characters.
  constexpr std::size_t kChunk = 45;
  std::string out;
  std::size_t i = 0;
  while (i < valid.size()) {
    std::size_t end = std::min(valid.size(), i + kChunk);
    // Never split a UTF-8 sequence across encoded-words (RFC 2047 §5).
    while (end < valid.size() && end > i && (static_cast<unsigned char>(valid[end]) & 0xC0) == 0x80) --end;
    if (end == i) end = std::min(valid.size(), i + kChunk);
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + base64_encode(std::string_view(valid).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string encode_display_name(std::string_view utf8) {
  bool ascii_printable = true;
  bool atoms_only = true;
  for (unsigned char c : utf8) {
    if (c >= 0x80 || c < 0x20 || c == 0x7f) ascii_printable = false;
    if (!is_atext(c) && c != ' ') atoms_only = false;
  }
  if (!ascii_printable || utf8.find("=?") != std::string_view::npos) return encode_header_text(utf8);
  if (atoms_only && !utf8.empty() && utf8.front() != ' ' && utf8.back() != ' ') return std::string(utf8);
  std::string quoted = "\"";
  for (char c : utf8) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace postroom::mime::text
