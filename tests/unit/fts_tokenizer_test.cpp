// The search index's tokenizer against SQLite's unicode61: the same tokens, positions and byte offsets for
// every input, or the index would find different words than before (and its delete trigger would not take
// out what the insert put in).
#include "store/sqlite/fts_tokenizer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace postroom;
namespace fs = std::filesystem;

namespace {

using Token = std::tuple<std::string, int, int>;  // folded text, start, end

class Tokenizers {
 public:
  Tokenizers() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    store::register_fast_tokenizer(db_);
    api_ = store::fts5_api_of(db_);
    EXPECT_NE(api_, nullptr);
  }
  ~Tokenizers() { sqlite3_close(db_); }

  // The tokens `name` makes of `text`, created with `args`.
  std::vector<Token> tokens(const char* name, const std::vector<const char*>& args, const std::string& text,
                            int flags = FTS5_TOKENIZE_DOCUMENT) {
    return tokens_per_call(name, args, {text}, flags).front();
  }

  // The tokens one instance of `name` makes of each text in turn.
  std::vector<std::vector<Token>> tokens_per_call(const char* name, const std::vector<const char*>& args,
                                                  const std::vector<std::string>& texts,
                                                  int flags = FTS5_TOKENIZE_DOCUMENT) {
    void* user_data = nullptr;
    fts5_tokenizer module{};
    EXPECT_EQ(api_->xFindTokenizer(api_, name, &user_data, &module), SQLITE_OK) << name;
    Fts5Tokenizer* instance = nullptr;
    EXPECT_EQ(
        module.xCreate(user_data, const_cast<const char**>(args.data()), static_cast<int>(args.size()), &instance),
        SQLITE_OK);
    std::vector<std::vector<Token>> out;
    for (const std::string& text : texts) {
      out.emplace_back();
      module.xTokenize(instance, &out.back(), flags, text.data(), static_cast<int>(text.size()),
                       [](void* context, int, const char* token, int size, int start, int end) {
                         static_cast<std::vector<Token>*>(context)->emplace_back(
                             std::string(token, static_cast<std::size_t>(size)), start, end);
                         return SQLITE_OK;
                       });
    }
    module.xDelete(instance);
    return out;
  }

  void expect_same(const std::vector<const char*>& args, const std::string& text, const std::string& label) {
    EXPECT_EQ(tokens(store::kFastTokenizerName, args, text), tokens("unicode61", args, text)) << label;
  }

 private:
  sqlite3* db_ = nullptr;
  fts5_api* api_ = nullptr;
};

const std::vector<const char*> kSchemaArgs = {"remove_diacritics", "2"};

// Each word's first token only.
std::vector<Token> first_occurrences(const std::vector<Token>& tokens) {
  std::vector<Token> out;
  std::set<std::string> seen;
  for (const Token& token : tokens)
    if (seen.insert(std::get<0>(token)).second) out.push_back(token);
  return out;
}

bool is_subsequence(const std::vector<Token>& part, const std::vector<Token>& whole) {
  std::size_t next = 0;
  for (const Token& token : whole)
    if (next < part.size() && part[next] == token) ++next;
  return next == part.size();
}

}  // namespace

TEST(FastTokenizer, MatchesUnicode61OnEdgeCases) {
  Tokenizers t;
  const std::vector<std::string> cases = {
      "",
      " ",
      "Hello, World!",
      "UPPER lower MiXeD 123 a1b2",
      "  leading and trailing  ",
      "user@example.com <Bench@Example.COM>",
      "1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n2XXXX",
      "Caf\xc3\xa9 cr\xc3\xa8me na\xc3\xafve",  // precomposed accents
      "e\xcc\x81t\xc3\xa9 x",                   // e + combining acute
      "Stra\xc3\x9f"
      "e M\xc3\x9cNCHEN",  // sharp s, upper-case umlaut
      "word\xc2\xa0nbsp en\xe2\x80\x93"
      "dash \xe2\x80\x9cquoted\xe2\x80\x9d",               // NBSP, en dash, curly quotes
      "\xe4\xb8\xad\xe6\x96\x87 mixed\xe4\xb8\xad ascii",  // CJK, touching ASCII
      "emoji\xf0\x9f\x98\x80"
      "after \xf0\x9f\x98\x80 alone",
      "bad\xff"
      "bytes \xc3 truncated \xe2\x82",  // invalid and truncated UTF-8
      std::string("nul\0inside", 10),
      "tab\tnew\nline\rcr",
      "under_score hy-phen dot.ted",
  };
  for (const std::string& text : cases) t.expect_same(kSchemaArgs, text, text);
}

TEST(FastTokenizer, ReadsItsAsciiTableFromUnicode61sOptions) {
  Tokenizers t;
  const std::string text = "under_score hy-phen x-ray EXTRA caf\xc3\xa9-bar";
  t.expect_same({"tokenchars", "_-"}, text, "tokenchars");
  t.expect_same({"separators", "xX"}, text, "separators");
  t.expect_same({"remove_diacritics", "0"}, text, "remove_diacritics 0");
  t.expect_same({}, text, "no arguments");
}

TEST(FastTokenizer, MatchesUnicode61OnRandomText) {
  Tokenizers t;
  // Pieces chosen to meet at every kind of boundary: ASCII token and separator bytes, multi-byte token
  // characters, non-ASCII separators, combining marks, invalid bytes.
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           "7",
                                           " ",
                                           ",",
                                           "-",
                                           "_",
                                           "\r\n",
                                           "\xc3\xa9",
                                           "\xc3\x89",
                                           "\xcc\x81",
                                           "\xc2\xa0",
                                           "\xe2\x80\x93",
                                           "\xe4\xb8\xad",
                                           "\xf0\x9f\x98\x80",
                                           "\xff",
                                           "\xc3",
                                           "."};
  std::mt19937 random(20261123);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    for (int i = length(random); i > 0; --i) text += pieces[pick(random)];
    t.expect_same(kSchemaArgs, text, "round " + std::to_string(round));
  }
}

TEST(FastTokenizer, MatchesUnicode61OnTheMimeCorpus) {
  Tokenizers t;
  const fs::path corpus = fs::path(POSTROOM_SHARED_DIR) / "testdata" / "mime";
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    t.expect_same(kSchemaArgs, bytes.str(), entry.path().string());
    ++files;
  }
  EXPECT_GT(files, 50);
}

// The index's tokenizer since migration 11: each word of a document once, where it first occurs, with the
// token the full tokenizer gives there; queries get every word.
TEST(DistinctWordsTokenizer, GivesEachWordOfADocumentOnceWhereItFirstOccurs) {
  Tokenizers t;
  const std::string text =
      "Blue door, BLUE door; caf\xc3\xa9 CAFE cafe\xcc\x81 x-x-x blue\xc3\xa9 \xe4\xb8\xad \xe4\xb8\xad door";
  const auto all = t.tokens(store::kFastTokenizerName, kSchemaArgs, text);
  const auto distinct = first_occurrences(all);
  ASSERT_EQ(distinct.size(), 6u);  // blue door cafe x blueé 中
  EXPECT_EQ(t.tokens(store::kDistinctWordsTokenizerName, kSchemaArgs, text), distinct);
  EXPECT_EQ(t.tokens(store::kDistinctWordsTokenizerName, kSchemaArgs, text, FTS5_TOKENIZE_QUERY), all);
  EXPECT_EQ(t.tokens(store::kDistinctWordsTokenizerName, kSchemaArgs, text, FTS5_TOKENIZE_AUX), all);
  // FTS5 tokenizes each column in its own call: every call starts afresh.
  const auto calls = t.tokens_per_call(store::kDistinctWordsTokenizerName, kSchemaArgs, {text, text, "door door"});
  EXPECT_EQ(calls, (std::vector<std::vector<Token>>{distinct, distinct, {Token{"door", 0, 4}}}));
}

TEST(DistinctWordsTokenizer, MatchesTheFirstOccurrencesOfTheFullTokenizerOnRandomText) {
  Tokenizers t;
  const std::vector<std::string> pieces = {"a",        "Z",    "7",        " ",        ",",        "-", "ab",
                                           "AB",       "\r\n", "\xc3\xa9", "\xc3\x89", "\xcc\x81", ".", "\xe4\xb8\xad",
                                           "\xc2\xa0", "\xff"};
  std::mt19937 random(20261124);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(0, 60);
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::string> columns(4);
    for (std::string& text : columns)
      for (int i = length(random); i > 0; --i) text += pieces[pick(random)];
    const auto distinct = t.tokens_per_call(store::kDistinctWordsTokenizerName, kSchemaArgs, columns);
    for (std::size_t c = 0; c < columns.size(); ++c)
      EXPECT_EQ(distinct[c], first_occurrences(t.tokens(store::kFastTokenizerName, kSchemaArgs, columns[c])))
          << "round " << round << " column " << c;
  }
}

// Past its bounds (very long words, more distinct words than it keeps) a column may give a word again, which
// FTS5 ignores; it never leaves a word out.
TEST(DistinctWordsTokenizer, PastItsBoundsRepeatsWordsButNeverLosesOne) {
  Tokenizers t;
  std::string text;
  for (int i = 0; i < 70000; ++i) text.append("w").append(std::to_string(i)).append(" ");
  text += std::string(300, 'x') + " " + std::string(300, 'x') + " w1 w69999";
  const auto all = t.tokens(store::kFastTokenizerName, kSchemaArgs, text);
  const auto distinct = t.tokens(store::kDistinctWordsTokenizerName, kSchemaArgs, text);
  EXPECT_TRUE(is_subsequence(distinct, all));
  EXPECT_EQ(first_occurrences(distinct), first_occurrences(all));
  EXPECT_LT(distinct.size(), all.size()) << "w1, kept, is not given twice";
  EXPECT_GT(distinct.size(), first_occurrences(all).size()) << "the long word and w69999 are";
}
