#pragma once
// Phrase search over the word index. The index records which messages hold each word, not where in them
// (detail=none): word positions were most of the work of indexing a message at capture. A quoted phrase is
// looked up as all of its words, and each message found is then checked for the words in a row, within one
// column, in the text the index was built from (kept packed beside it, store/search_text.h). That is FTS5's own
// phrase rule, with the index's tokenizer.
struct sqlite3;

namespace postroom::store {

// Registers on a connection, after register_fast_tokenizer:
//   postroom_all_words(text)   an FTS5 query matching the messages that hold every word of `text` ('""', which
//                              matches nothing, when it has none);
//   postroom_word_count(text)  how many words the index's tokenizer finds in `text`;
//   postroom_has_phrase(subject, addresses, packed_text, text)
//                              1 when the words of `text` follow each other in the subject, the addresses, the
//                              headers or the body; also 1 for fewer than two words (nothing to order).
void register_phrase_functions(sqlite3* db);

}  // namespace postroom::store
