#include "store/search_text.h"

#include <lz4.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>

#include "core/compression.h"

namespace postroom::store {
namespace {

// Bodies are cut before indexing and headers are bounded by the message size limit; this only stops a corrupt
// blob from inflating without end.
constexpr std::size_t kMaxPackedText = 512 * 1024 * 1024;
// LZ4: this runs for every captured message, and the text is read back only when the message is deleted. zstd at
// level 1 cost about as much as compressing the raw message again; LZ4 a seventh of that, for a blob a little
// larger. Blobs packed with zstd (before migration 10) are still read.
constexpr char kLz4Tag = 'L';
constexpr std::size_t kLz4Header = 5;  // the tag, then the plain size as 4 bytes little-endian

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::uint32_t get_u32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return value;
}

std::optional<std::string> lz4_unpack(std::string_view packed) {
  if (packed.size() < kLz4Header || packed.size() - kLz4Header > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE))
    return std::nullopt;
  const std::uint32_t size = get_u32(packed.substr(1));
  if (size > kMaxPackedText || size > static_cast<std::uint32_t>(LZ4_MAX_INPUT_SIZE)) return std::nullopt;
  std::string plain(size, '\0');
  const int produced = LZ4_decompress_safe(packed.data() + kLz4Header, plain.data(),
                                           static_cast<int>(packed.size() - kLz4Header), static_cast<int>(size));
  if (produced < 0 || static_cast<std::uint32_t>(produced) != size) return std::nullopt;
  return plain;
}

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
  // Plain: [headers length, 4 bytes little-endian][headers][body]. The plain text, the output buffer and the LZ4
  // state are kept per thread: clearing a fresh 16 KiB state and zero-filling new buffers for every message cost
  // as much as compressing it.
  thread_local std::string plain;
  thread_local std::string buffer;
  struct FreeStream {
    void operator()(LZ4_stream_t* stream) const { LZ4_freeStream(stream); }
  };
  thread_local const std::unique_ptr<LZ4_stream_t, FreeStream> owned_state(LZ4_createStream());
  LZ4_stream_t* const state = owned_state.get();
  if (!state) throw std::bad_alloc();
  plain.clear();
  put_u32(plain, static_cast<std::uint32_t>(headers.size()));
  plain.append(headers);
  plain.append(body);
  if (plain.size() > kMaxPackedText || plain.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE))
    throw std::length_error("search text too large to pack");
  const int bound = LZ4_compressBound(static_cast<int>(plain.size()));
  if (buffer.size() < static_cast<std::size_t>(bound)) buffer.resize(static_cast<std::size_t>(bound));
  LZ4_resetStream_fast(state);  // no dictionary: an independent block
  const int written =
      LZ4_compress_fast_continue(state, plain.data(), buffer.data(), static_cast<int>(plain.size()), bound, 1);
  if (written <= 0) throw std::runtime_error("LZ4 compression failed");
  std::string packed(1, kLz4Tag);
  put_u32(packed, static_cast<std::uint32_t>(plain.size()));
  packed.append(buffer.data(), static_cast<std::size_t>(written));
  if (plain.capacity() > 4 * 1024 * 1024) {  // a huge message: do not keep its buffers
    std::string().swap(plain);
    std::string().swap(buffer);
  }
  return packed;
}

std::optional<std::pair<std::string, std::string>> unpack_search_text(std::string_view packed) {
  auto plain =
      !packed.empty() && packed.front() == kLz4Tag ? lz4_unpack(packed) : zstd_decompress(packed, kMaxPackedText);
  if (!plain || plain->size() < 4) return std::nullopt;
  const std::uint32_t length = get_u32(*plain);
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
