#include "store/sqlite/fts_tokenizer.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postroom::store {
namespace {

// unicode61 as FTS5 gave it: its functions and their user data; and which of the two tokenizers this is.
struct InnerModule {
  fts5_tokenizer functions{};
  void* user_data = nullptr;
  bool distinct = false;
};

// The words already given for one column of one document. Saying "first time" for a word seen before only
// costs FTS5 its own duplicate check, so the set is bounded and never worth attacking: a word is looked for in
// a few slots at most, long words and words past a column's first kMaxWords distinct ones are not kept.
// Generations make starting a column O(1).
class DistinctWords {
 public:
  void start() {
    if (++generation_ == 0) {  // wrapped: no slot may look current
      for (Slot& slot : slots_) slot.generation = 0;
      generation_ = 1;
    }
    used_ = 0;
    // After a column with very many words, the set's memory is not kept for the next one.
    if (slots_.size() * sizeof(Slot) > kKeptBytes) std::vector<Slot>().swap(slots_);
    if (bytes_.capacity() > kKeptBytes) std::string().swap(bytes_);
    bytes_.clear();
  }

  // False only when `word` was seen since start().
  bool first_time(std::string_view word) {
    if (word.size() > kMaxWordSize) return true;
    if ((used_ + 1) * 2 > slots_.size() && used_ < kMaxWords) grow();
    const bool may_keep = (used_ + 1) * 2 <= slots_.size();  // past kMaxWords the set is only looked in
    const std::uint64_t hash = hash_of(word);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    for (int probe = 0; probe < kMaxProbes; ++probe, i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.generation != generation_) {
        if (!may_keep) return true;
        slot = {hash, static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(word.size()), generation_};
        bytes_.append(word);
        ++used_;
        return true;
      }
      if (slot.hash == hash && std::string_view(bytes_.data() + slot.offset, slot.size) == word) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t kMaxWords = 1 << 16;
  static constexpr std::size_t kMaxWordSize = 256;
  static constexpr int kMaxProbes = 16;
  static constexpr std::size_t kKeptBytes = 1 << 20;

  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    std::uint32_t generation = 0;
  };

  // 8 bytes per multiply (the folded words are mostly short ASCII).
  static std::uint64_t hash_of(std::string_view word) {
    constexpr std::uint64_t kMultiplier = 0x9E3779B97F4A7C15ULL;
    std::uint64_t hash = word.size() * kMultiplier;
    std::size_t i = 0;
    for (; i + 8 <= word.size(); i += 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, word.data() + i, 8);
      hash = (hash ^ chunk) * kMultiplier;
      hash ^= hash >> 32;
    }
    if (i < word.size()) {
      std::uint64_t chunk = 0;
      std::memcpy(&chunk, word.data() + i, word.size() - i);
      hash = (hash ^ chunk) * kMultiplier;
      hash ^= hash >> 32;
    }
    return hash ^ (hash >> 29);
  }

  void grow() {
    std::vector<Slot> old(std::max<std::size_t>(slots_.size() * 2, 256));
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.generation != generation_) continue;
      std::size_t i = slot.hash & mask;
      while (slots_[i].generation == generation_) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string bytes_;  // the kept words, one after another
  std::size_t used_ = 0;
  std::uint32_t generation_ = 0;
};

// One tokenizer instance: the inner unicode61 instance (for text with non-ASCII bytes) and, for every ASCII
// byte, what unicode61 makes of it alone. Read from unicode61 itself, so options such as tokenchars or
// separators give the same table.
struct FastTokenizer {
  fts5_tokenizer inner_module{};
  Fts5Tokenizer* inner = nullptr;
  // Per byte: the byte an ASCII token character folds to; 0 for ASCII separators and for every non-ASCII byte.
  std::array<unsigned char, 256> classes{};
  // The table is unicode61's default one (token characters: ASCII letters and digits), which 16 bytes at a
  // time can be checked against with a few vector compares.
  bool letters_and_digits = false;
  std::string token;      // room for the folded token being built (16 bytes more than the text, for vector stores)
  bool distinct = false;  // documents give each word once (kDistinctWordsTokenizerName)
  DistinctWords seen;
};

bool is_letters_and_digits_table(const std::array<unsigned char, 256>& classes) {
  for (int byte = 0; byte < 256; ++byte) {
    unsigned char expected = 0;
    if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z')) expected = static_cast<unsigned char>(byte);
    if (byte >= 'A' && byte <= 'Z') expected = static_cast<unsigned char>(byte + 32);
    if (classes[static_cast<std::size_t>(byte)] != expected) return false;
  }
  return true;
}

#if defined(__SSE2__)
// Folds the ASCII letters and digits at the start of bytes[0..16) into out[0..16) and returns how many there
// were (16: all of them, the token goes on).
int fold_letters_and_digits(const unsigned char* bytes, char* out) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  // Signed compares: bytes of 0x80 and above are negative, so they are never in a range here.
  auto in_range = [&](char low, char high) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(low - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(high + 1))));
  };
  const __m128i upper = in_range('A', 'Z');
  const __m128i token = _mm_or_si128(_mm_or_si128(in_range('0', '9'), in_range('a', 'z')), upper);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(32))));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(token));
  return mask == 0xFFFF ? 16 : __builtin_ctz(~mask);
}
#endif

int remember_single_token(void* context, int, const char* token, int size, int, int) {
  auto* out = static_cast<std::string*>(context);
  out->assign(token, static_cast<std::size_t>(size));
  return SQLITE_OK;
}

// Forwards unicode61's tokens for a slice of the text with their offsets moved to the whole text's.
struct SliceContext {
  void* context;
  int (*emit)(void*, int, const char*, int, int, int);
  int offset;
  bool stopped = false;  // the caller answered SQLITE_DONE (unicode61 swallows it; the whole text must stop)
};

int forward_slice_token(void* context, int flags, const char* token, int size, int start, int end) {
  auto* slice = static_cast<SliceContext*>(context);
  const int rc = slice->emit(slice->context, flags, token, size, start + slice->offset, end + slice->offset);
  if (rc == SQLITE_DONE) slice->stopped = true;
  return rc;
}

int create(void* inner_module, const char** args, int arg_count, Fts5Tokenizer** out) {
  *out = nullptr;
  auto* tokenizer = new (std::nothrow) FastTokenizer;
  if (!tokenizer) return SQLITE_NOMEM;
  const auto* unicode61 = static_cast<const InnerModule*>(inner_module);
  tokenizer->inner_module = unicode61->functions;
  tokenizer->distinct = unicode61->distinct;
  const int rc = tokenizer->inner_module.xCreate(unicode61->user_data, args, arg_count, &tokenizer->inner);
  if (rc != SQLITE_OK) {
    delete tokenizer;
    return rc;
  }
  for (int byte = 0; byte < 128; ++byte) {
    const char text = static_cast<char>(byte);
    std::string token;
    tokenizer->inner_module.xTokenize(tokenizer->inner, &token, FTS5_TOKENIZE_DOCUMENT, &text, 1,
                                      remember_single_token);
    tokenizer->classes[static_cast<std::size_t>(byte)] = token.size() == 1 ? static_cast<unsigned char>(token[0]) : 0;
  }
  tokenizer->letters_and_digits = is_letters_and_digits_table(tokenizer->classes);
  *out = reinterpret_cast<Fts5Tokenizer*>(tokenizer);
  return SQLITE_OK;
}

void destroy(Fts5Tokenizer* handle) {
  auto* tokenizer = reinterpret_cast<FastTokenizer*>(handle);
  if (!tokenizer) return;
  if (tokenizer->inner) tokenizer->inner_module.xDelete(tokenizer->inner);
  delete tokenizer;
}

// Forwards only the first occurrence of every word.
struct DistinctContext {
  void* context;
  int (*emit)(void*, int, const char*, int, int, int);
  DistinctWords* seen;
};

int forward_first_occurrence(void* context, int flags, const char* token, int size, int start, int end) {
  auto* distinct = static_cast<DistinctContext*>(context);
  if (!distinct->seen->first_time(std::string_view(token, static_cast<std::size_t>(size)))) return SQLITE_OK;
  return distinct->emit(distinct->context, flags, token, size, start, end);
}

// unicode61 ends a token at every ASCII separator and starts afresh after it, so the text can be cut at ASCII
// separators into slices tokenized independently: ASCII-only slices here, the others by unicode61.
int tokenize_all(FastTokenizer* tokenizer, void* context, int flags, const char* text, int size,
                 int (*emit)(void*, int, const char*, int, int, int)) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text);
  const unsigned char* classes = tokenizer->classes.data();
  // A token is never longer than the text: one allocation per call at most, none in the loop.
  if (tokenizer->token.size() < static_cast<std::size_t>(size) + 16)
    tokenizer->token.resize(static_cast<std::size_t>(size) + 16);
  char* const folded = tokenizer->token.data();
  int position = 0;
  while (true) {
    // Skip ASCII separators.
    while (position < size && classes[bytes[position]] == 0 && bytes[position] < 0x80) ++position;
    if (position >= size) return SQLITE_OK;
    const int start = position;
    char* out = folded;
#if defined(__SSE2__)
    if (tokenizer->letters_and_digits) {
      while (position + 16 <= size) {
        const int taken = fold_letters_and_digits(bytes + position, out);
        position += taken;
        out += taken;
        if (taken < 16) break;
      }
    }
#endif
    for (unsigned char c; position < size && (c = classes[bytes[position]]) != 0; ++position)
      *out++ = static_cast<char>(c);
    // Stopped at a non-ASCII byte: the slice runs to the next ASCII separator and goes to unicode61 whole.
    const bool non_ascii = position < size && bytes[position] >= 0x80;
    if (non_ascii)
      while (position < size && (bytes[position] >= 0x80 || classes[bytes[position]] != 0)) ++position;
    int rc;
    if (non_ascii) {
      SliceContext slice{context, emit, start};
      rc = tokenizer->inner_module.xTokenize(tokenizer->inner, &slice, flags, text + start, position - start,
                                             forward_slice_token);
      if (slice.stopped) rc = SQLITE_DONE;
    } else {
      rc = emit(context, 0, folded, static_cast<int>(out - folded), start, position);
    }
    if (rc == SQLITE_DONE) return SQLITE_OK;  // the caller asked to stop, as unicode61 treats it
    if (rc != SQLITE_OK) return rc;
  }
}

int tokenize(Fts5Tokenizer* handle, void* context, int flags, const char* text, int size,
             int (*emit)(void*, int, const char*, int, int, int)) {
  auto* tokenizer = reinterpret_cast<FastTokenizer*>(handle);
  if (!tokenizer->distinct || !(flags & FTS5_TOKENIZE_DOCUMENT))
    return tokenize_all(tokenizer, context, flags, text, size, emit);
  tokenizer->seen.start();  // FTS5 tokenizes each column of a document in its own call
  DistinctContext distinct{context, emit, &tokenizer->seen};
  return tokenize_all(tokenizer, &distinct, flags, text, size, forward_first_occurrence);
}

}  // namespace

fts5_api* fts5_api_of(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, nullptr) != SQLITE_OK) return nullptr;
  sqlite3_bind_pointer(statement, 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(statement);
  sqlite3_finalize(statement);
  return api;
}

void register_fast_tokenizer(sqlite3* db) {
  fts5_api* api = fts5_api_of(db);
  if (!api || api->iVersion < 2) throw std::runtime_error("this SQLite has no FTS5 (needed by the search index)");
  for (const auto& [name, distinct] :
       {std::pair{kFastTokenizerName, false}, std::pair{kDistinctWordsTokenizerName, true}}) {
    auto* inner = new InnerModule;
    inner->distinct = distinct;
    if (api->xFindTokenizer(api, "unicode61", &inner->user_data, &inner->functions) != SQLITE_OK) {
      delete inner;
      throw std::runtime_error("this SQLite's FTS5 has no unicode61 tokenizer");
    }
    fts5_tokenizer module{create, destroy, tokenize};
    // FTS5 frees the inner module's copy with the connection.
    if (api->xCreateTokenizer(api, name, inner, &module,
                              [](void* pointer) { delete static_cast<InnerModule*>(pointer); }) != SQLITE_OK) {
      delete inner;
      throw std::runtime_error("cannot register the search index tokenizer");
    }
  }
}

}  // namespace postroom::store
