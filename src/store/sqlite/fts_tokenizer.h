#pragma once
// The full-text index's tokenizer: SQLite's unicode61 with the same options and the same tokens, made faster
// for ASCII text. unicode61 spends about 20 instructions per byte (a fifth of all the work of capturing a
// 10 KB message); most mail text is ASCII, which a table lookup per byte tokenizes exactly alike.
#include <string>

struct sqlite3;
struct fts5_api;

namespace postroom::store {

// All the words of a text, as unicode61 gives them; tokenize='postroom_unicode61 remove_diacritics 2' in migration
// 9's schema, and what phrases are checked with (store/sqlite/fts_phrase.h).
inline constexpr const char* kFastTokenizerName = "postroom_unicode61";
// The same words, each given once per column of a document (where it first occurs; queries get every word): the
// tokenizer of the index since migration 11. The index records which messages hold a word, not where (detail=none), so
// a second occurrence tells it nothing, yet FTS5 hashes every occurrence: most of the cost of indexing a message with
// repetitive text.
inline constexpr const char* kDistinctWordsTokenizerName = "postroom_words";
// The options the schema gives them; code that splits text into words as the index does uses the same.
inline constexpr const char* kIndexTokenizerOptions[] = {"remove_diacritics", "2"};

// Registers both tokenizers on a connection (every connection that reads or writes the index needs it).
void register_fast_tokenizer(sqlite3* db);

// The connection's FTS5 API (tokenizers by name); nullptr when this SQLite has no FTS5.
fts5_api* fts5_api_of(sqlite3* db);

}  // namespace postroom::store
