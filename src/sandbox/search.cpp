#include "sandbox/search.h"

#include <cctype>
#include <string>

namespace postroom::sandbox {

static std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

SearchQuery parse_search(std::string_view text) {
  SearchQuery query;
  constexpr std::size_t kMaxTerms = 16;  // bounded work per request
  std::size_t i = 0;
  while (i < text.size() && query.terms.size() < kMaxTerms) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    SearchTerm term;
    if (text[i] == '-' && i + 1 < text.size() && !std::isspace(static_cast<unsigned char>(text[i + 1]))) {
      term.negated = true;
      ++i;
    }
    // An operator prefix is a known word followed by ':'.
    const std::size_t word_end = text.find_first_of(" \t\r\n\"", i);
    const std::string_view word = text.substr(i, word_end == std::string_view::npos ? text.size() - i : word_end - i);
    const std::size_t colon = word.find(':');
    bool value_expected = false;
    if (colon != std::string_view::npos) {
      const std::string key = lower(word.substr(0, colon));
      const std::string value = lower(word.substr(colon + 1));
      if (key == "from" || key == "to" || key == "subject") {
        term.field = key == "from" ? SearchTerm::Field::from
                     : key == "to" ? SearchTerm::Field::to
                                   : SearchTerm::Field::subject;
        i += colon + 1;
        value_expected = true;
      } else if (key == "has" && value == "attachment") {
        term.field = SearchTerm::Field::has_attachment;
        i += word.size();
        query.terms.push_back(term);
        continue;
      } else if (key == "is" && (value == "unread" || value == "read")) {
        term.field = value == "unread" ? SearchTerm::Field::is_unread : SearchTerm::Field::is_read;
        i += word.size();
        query.terms.push_back(term);
        continue;
      }
    }
    if (i < text.size() && text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      const std::size_t end = close == std::string_view::npos ? text.size() : close;
      term.text = lower(text.substr(i + 1, end - i - 1));
      i = close == std::string_view::npos ? text.size() : close + 1;
    } else {
      std::size_t end = i;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
      term.text = lower(text.substr(i, end - i));
      i = end;
    }
    if (term.text.empty() && value_expected) continue;  // "from:" alone
    if (term.text.empty()) continue;
    query.terms.push_back(std::move(term));
  }
  return query;
}

}  // namespace postroom::sandbox
