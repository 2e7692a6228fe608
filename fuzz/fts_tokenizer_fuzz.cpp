// Differential: the search index's tokenizer must give exactly unicode61's tokens (text, start, end) for any
// bytes, since the index is written with one and was, before it, written and queried with the other. Its
// distinct-words form must give the first token of every word, in order, and nothing that is not a token.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "store/sqlite/fts_tokenizer.h"

namespace {

using Tokens = std::vector<std::tuple<std::string, int, int>>;

struct Tokenizer {
  fts5_tokenizer module{};
  Fts5Tokenizer* instance = nullptr;
};

Tokenizer create(fts5_api* api, const char* name) {
  Tokenizer t;
  void* user_data = nullptr;
  if (api->xFindTokenizer(api, name, &user_data, &t.module) != SQLITE_OK) __builtin_trap();
  const char* args[] = {"remove_diacritics", "2"};
  if (t.module.xCreate(user_data, args, 2, &t.instance) != SQLITE_OK) __builtin_trap();
  return t;
}

Tokens run(const Tokenizer& t, const std::uint8_t* data, std::size_t size) {
  Tokens out;
  t.module.xTokenize(t.instance, &out, FTS5_TOKENIZE_DOCUMENT, reinterpret_cast<const char*>(data),
                     static_cast<int>(size), [](void* context, int, const char* token, int n, int start, int end) {
                       static_cast<Tokens*>(context)->emplace_back(std::string(token, static_cast<std::size_t>(n)),
                                                                   start, end);
                       return SQLITE_OK;
                     });
  return out;
}

Tokens first_occurrences(const Tokens& tokens) {
  Tokens out;
  std::set<std::string> seen;
  for (const auto& token : tokens)
    if (seen.insert(std::get<0>(token)).second) out.push_back(token);
  return out;
}

bool is_subsequence(const Tokens& part, const Tokens& whole) {
  std::size_t next = 0;
  for (const auto& token : whole)
    if (next < part.size() && part[next] == token) ++next;
  return next == part.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sqlite3* db = [] {
    sqlite3* opened = nullptr;
    sqlite3_open(":memory:", &opened);
    postroom::store::register_fast_tokenizer(opened);
    return opened;
  }();
  static fts5_api* api = postroom::store::fts5_api_of(db);
  static const Tokenizer fast = create(api, postroom::store::kFastTokenizerName);
  static const Tokenizer reference = create(api, "unicode61");
  static const Tokenizer distinct = create(api, postroom::store::kDistinctWordsTokenizerName);
  const Tokens all = run(fast, data, size);
  if (all != run(reference, data, size)) __builtin_trap();
  const Tokens once = run(distinct, data, size);
  if (!is_subsequence(once, all) || first_occurrences(once) != first_occurrences(all)) __builtin_trap();
  return 0;
}
