#include "store/sqlite/fts_phrase.h"

#include <sqlite3.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/search_text.h"
#include "store/sqlite/fts_tokenizer.h"

namespace postroom::store {
namespace {

// The full tokenizer (every occurrence of every word, as the index's tokenizer splits them), one instance per
// connection: SQLite calls a connection's functions one at a time.
class WordSplitter {
 public:
  explicit WordSplitter(sqlite3* db) {
    fts5_api* api = fts5_api_of(db);
    void* user_data = nullptr;
    if (!api || api->xFindTokenizer(api, kFastTokenizerName, &user_data, &module_) != SQLITE_OK)
      throw std::runtime_error("the search index tokenizer is not registered");
    const char* options[std::size(kIndexTokenizerOptions)];
    for (std::size_t i = 0; i < std::size(kIndexTokenizerOptions); ++i) options[i] = kIndexTokenizerOptions[i];
    if (module_.xCreate(user_data, options, static_cast<int>(std::size(options)), &instance_) != SQLITE_OK)
      throw std::runtime_error("cannot create the search index tokenizer");
  }
  ~WordSplitter() { module_.xDelete(instance_); }
  WordSplitter(const WordSplitter&) = delete;
  WordSplitter& operator=(const WordSplitter&) = delete;

  // Calls on_word(std::string_view) for every word of `text`; on_word returns false to stop. False on a
  // tokenizer error.
  template <typename OnWord>
  bool split(std::string_view text, OnWord&& on_word) {
    if (text.empty()) return true;
    using Callback = std::remove_reference_t<OnWord>;
    auto emit = [](void* context, int flags, const char* token, int size, int, int) {
      if (flags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;  // another form of the same word, at the same position
      return (*static_cast<Callback*>(context))(std::string_view(token, static_cast<std::size_t>(size))) ? SQLITE_OK
                                                                                                         : SQLITE_DONE;
    };
    return module_.xTokenize(instance_, &on_word, FTS5_TOKENIZE_DOCUMENT, text.data(), static_cast<int>(text.size()),
                             emit) == SQLITE_OK;
  }

  std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    split(text, [&](std::string_view word) {
      out.emplace_back(word);
      return true;
    });
    return out;
  }

 private:
  fts5_tokenizer module_{};
  Fts5Tokenizer* instance_ = nullptr;
};

std::string_view text_of(sqlite3_value* value) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  return text ? std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(value))) : std::string_view();
}

std::string_view blob_of(sqlite3_value* value) {
  const auto* blob = static_cast<const char*>(sqlite3_value_blob(value));
  return blob ? std::string_view(blob, static_cast<std::size_t>(sqlite3_value_bytes(value))) : std::string_view();
}

WordSplitter& splitter_of(sqlite3_context* context) { return *static_cast<WordSplitter*>(sqlite3_user_data(context)); }

using Words = std::vector<std::string>;

// The words of the phrase argument, split once per statement: SQLite keeps them with a constant argument. When
// it cannot keep them, they are split into `uncached`.
const Words& phrase_words(sqlite3_context* context, sqlite3_value** argv, int argument, Words& uncached) {
  if (auto* cached = static_cast<Words*>(sqlite3_get_auxdata(context, argument))) return *cached;
  uncached = splitter_of(context).words(text_of(argv[argument]));
  if (auto* kept = new (std::nothrow) Words(uncached))
    sqlite3_set_auxdata(context, argument, kept, [](void* pointer) { delete static_cast<Words*>(pointer); });
  return uncached;
}

void all_words_function(sqlite3_context* context, int, sqlite3_value** argv) {
  std::string query;
  splitter_of(context).split(text_of(argv[0]), [&](std::string_view word) {
    // Each word is one quoted FTS5 string (a double quote doubled), and juxtaposed strings AND.
    if (!query.empty()) query.push_back(' ');
    query.push_back('"');
    for (const char c : word) {
      if (c == '"') query.push_back('"');
      query.push_back(c);
    }
    query.push_back('"');
    return true;
  });
  if (query.empty()) query = "\"\"";
  sqlite3_result_text64(context, query.data(), query.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void word_count_function(sqlite3_context* context, int, sqlite3_value** argv) {
  sqlite3_int64 count = 0;
  splitter_of(context).split(text_of(argv[0]), [&](std::string_view) {
    ++count;
    return true;
  });
  sqlite3_result_int64(context, count);
}

// Whether `phrase` (two words or more) occurs in `text` as consecutive words. The last phrase.size() words are
// kept in a ring; most words already differ from the phrase's last word.
bool contains_phrase(WordSplitter& splitter, std::string_view text, const Words& phrase) {
  const std::size_t n = phrase.size();
  std::vector<std::string> ring(n);
  std::size_t seen = 0;
  bool found = false;
  splitter.split(text, [&](std::string_view word) {
    ring[seen % n].assign(word);
    ++seen;
    if (seen < n || word != phrase.back()) return true;
    found = true;
    for (std::size_t i = 0; i + 1 < n && found; ++i) found = ring[(seen - n + i) % n] == phrase[i];
    return !found;
  });
  return found;
}

void has_phrase_function(sqlite3_context* context, int, sqlite3_value** argv) {
  Words uncached;
  const Words& phrase = phrase_words(context, argv, 3, uncached);
  if (phrase.size() < 2) {
    sqlite3_result_int(context, 1);
    return;
  }
  WordSplitter& splitter = splitter_of(context);
  bool found =
      contains_phrase(splitter, text_of(argv[0]), phrase) || contains_phrase(splitter, text_of(argv[1]), phrase);
  if (!found) {
    // Text that cannot be unpacked has no words to find (as the delete trigger reads it).
    if (const auto unpacked = unpack_search_text(blob_of(argv[2])))
      found = contains_phrase(splitter, unpacked->first, phrase) || contains_phrase(splitter, unpacked->second, phrase);
  }
  sqlite3_result_int(context, found ? 1 : 0);
}

}  // namespace

void register_phrase_functions(sqlite3* db) {
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  // One splitter shared by the three functions; the last one registered owns it (SQLite calls its destructor
  // when the connection closes).
  auto splitter = std::make_unique<WordSplitter>(db);
  WordSplitter* shared = splitter.get();
  auto destroy = [](void* pointer) { delete static_cast<WordSplitter*>(pointer); };
  if (sqlite3_create_function_v2(db, "postroom_all_words", 1, flags, shared, all_words_function, nullptr, nullptr,
                                 nullptr) != SQLITE_OK ||
      sqlite3_create_function_v2(db, "postroom_word_count", 1, flags, shared, word_count_function, nullptr, nullptr,
                                 nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("cannot register the phrase functions: ") + sqlite3_errmsg(db));
  // create_function_v2 calls the destructor itself when it fails.
  const int rc = sqlite3_create_function_v2(db, "postroom_has_phrase", 4, flags, splitter.release(),
                                            has_phrase_function, nullptr, nullptr, destroy);
  if (rc != SQLITE_OK)
    throw std::runtime_error(std::string("cannot register the phrase functions: ") + sqlite3_errmsg(db));
}

}  // namespace postroom::store
