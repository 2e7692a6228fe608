#pragma once
// The text a message's full-text row was built from, kept compressed beside the SQLite index. The FTS5 index is
// contentless (it does not store a second, uncompressed copy of every message), so removing a message's words
// means giving FTS5 the same text again: a delete trigger unpacks it with the SQL function below.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

struct sqlite3;

namespace postroom::store {

// The headers text and the body text, LZ4-compressed together.
std::string pack_search_text(std::string_view headers, std::string_view body);
// {headers, body}; nullopt when `packed` is not what pack_search_text (or its zstd predecessor) made.
std::optional<std::pair<std::string, std::string>> unpack_search_text(std::string_view packed);

// Registers postroom_search_text(packed, part) (part 0: headers, 1: body; '' when the blob cannot be read) and
// postroom_pack_search_text(headers, body) on a SQLite connection: the schema's trigger and migration use them.
void register_search_text_functions(sqlite3* db);

}  // namespace postroom::store
