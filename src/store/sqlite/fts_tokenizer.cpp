#include "store/sqlite/fts_tokenizer.h"

#include <sqlite3.h>

#include <array>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <new>
#include <stdexcept>
#include <string>

namespace postroom::store {
namespace {

// unicode61 as FTS5 gave it: its functions and their user data.
struct InnerModule {
  fts5_tokenizer functions{};
  void* user_data = nullptr;
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
  std::string token;  // room for the folded token being built (16 bytes more than the text, for vector stores)
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

// unicode61 ends a token at every ASCII separator and starts afresh after it, so the text can be cut at ASCII
// separators into slices tokenized independently: ASCII-only slices here, the others by unicode61.
int tokenize(Fts5Tokenizer* handle, void* context, int flags, const char* text, int size,
             int (*emit)(void*, int, const char*, int, int, int)) {
  auto* tokenizer = reinterpret_cast<FastTokenizer*>(handle);
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
  auto* inner = new InnerModule;
  if (api->xFindTokenizer(api, "unicode61", &inner->user_data, &inner->functions) != SQLITE_OK) {
    delete inner;
    throw std::runtime_error("this SQLite's FTS5 has no unicode61 tokenizer");
  }
  fts5_tokenizer module{create, destroy, tokenize};
  // FTS5 frees the inner module's copy with the connection.
  if (api->xCreateTokenizer(api, kFastTokenizerName, inner, &module,
                            [](void* pointer) { delete static_cast<InnerModule*>(pointer); }) != SQLITE_OK) {
    delete inner;
    throw std::runtime_error("cannot register the search index tokenizer");
  }
}

}  // namespace postroom::store
