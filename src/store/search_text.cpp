#include "store/search_text.h"

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>

#include "core/compression.h"

namespace postroom::store {
namespace {

// Bodies are cut before indexing and headers are bounded by the message size limit; this only stops a corrupt
// blob from inflating without end.
constexpr std::size_t kMaxPackedText = 512 * 1024 * 1024;
// Level 1: this runs for every captured message, and the text is read back only when the message is deleted.
constexpr int kPackLevel = 1;

std::string_view text_argument(sqlite3_value* value) {
  const auto* bytes = reinterpret_cast<const char*>(sqlite3_value_text(value));
  return bytes ? std::string_view(bytes, static_cast<std::size_t>(sqlite3_value_bytes(value))) : std::string_view();
}

void search_text_function(sqlite3_context* context, int, sqlite3_value** argv) {
  const auto* blob = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const auto part = sqlite3_value_int(argv[1]);
  const auto unpacked = unpack_search_text(
      blob ? std::string_view(blob, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))) : std::string_view());
  // An unreadable blob must not make its message undeletable: the index then keeps a few stale words for a
  // message id that no longer exists, which searches never return (they join the messages table).
  const std::string empty;
  const std::string& text = !unpacked ? empty : part == 0 ? unpacked->first : unpacked->second;
  sqlite3_result_text64(context, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void pack_search_text_function(sqlite3_context* context, int, sqlite3_value** argv) {
  const std::string packed = pack_search_text(text_argument(argv[0]), text_argument(argv[1]));
  sqlite3_result_blob64(context, packed.data(), packed.size(), SQLITE_TRANSIENT);
}

}  // namespace

std::string pack_search_text(std::string_view headers, std::string_view body) {
  // [headers length, 4 bytes little-endian][headers][body]
  std::string plain;
  plain.reserve(4 + headers.size() + body.size());
  const auto length = static_cast<std::uint32_t>(headers.size());
  for (int shift = 0; shift < 32; shift += 8) plain.push_back(static_cast<char>((length >> shift) & 0xFF));
  plain.append(headers);
  plain.append(body);
  return zstd_compress(plain, kPackLevel);
}

std::optional<std::pair<std::string, std::string>> unpack_search_text(std::string_view packed) {
  auto plain = zstd_decompress(packed, kMaxPackedText);
  if (!plain || plain->size() < 4) return std::nullopt;
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<std::uint32_t>(static_cast<unsigned char>((*plain)[i])) << (8 * i);
  if (length > plain->size() - 4) return std::nullopt;
  return std::make_pair(plain->substr(4, length), plain->substr(4 + length));
}

void register_search_text_functions(sqlite3* db) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  if (sqlite3_create_function_v2(db, "postroom_search_text", 2, flags, nullptr, search_text_function, nullptr, nullptr,
                                 nullptr) != SQLITE_OK ||
      sqlite3_create_function_v2(db, "postroom_pack_search_text", 2, flags, nullptr, pack_search_text_function, nullptr,
                                 nullptr, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("cannot register the search text functions: ") + sqlite3_errmsg(db));
}

}  // namespace postroom::store
