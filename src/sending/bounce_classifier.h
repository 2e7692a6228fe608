#pragma once
// Bounce categorization (the seed's "Bounce Categorization"): an SMTP reply from a recipient's MX, or a local
// delivery failure, becomes one of the 17 categories the email logs, webhooks and suppressions show, and is
// judged soft (retry) or hard (give up). Pure logic: no sockets, storage or clock.
//
// The rules are plain text, one per line (format in config/bounce-rules.conf, whose contents are the built-in
// defaults). User rules are tried first, then the defaults; the first rule whose conditions all hold decides.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::sending {

struct BounceCategory {
  std::string name;        // as the API writes it: "badrecipient", "dnsFail", …
  std::string event_name;  // as the app shows it: "Bad recipient", "DNS failure", …
  bool suppress = false;   // a hard bounce of this category adds the recipient to the suppressions
};

// The 17 categories of the docs, in the docs' order.
const std::vector<BounceCategory>& bounce_categories();
// The category named `name` (exact spelling), or nullptr.
const BounceCategory* find_bounce_category(std::string_view name);

struct Classification {
  std::string category;    // one of bounce_categories()
  bool permanent = false;  // hard bounce: no further attempts
  // The recipient goes on the suppression list: the category suppresses and the bounce is hard. A soft bounce
  // never suppresses by itself; when retries run out, the last soft bounce becomes a bounce and the sender
  // consults find_bounce_category(category)->suppress.
  bool suppress = false;
  std::string rule;  // the rule line that matched (trimmed), for logs
};

// The built-in rules: the text of config/bounce-rules.conf.
std::string_view default_bounce_rules();

class BounceClassifier {
 public:
  static BounceClassifier defaults();
  // User rules (ordered, first match wins) come before the defaults. Throws std::invalid_argument naming the
  // line ("bounce rules line 3: …") on a bad rule.
  static BounceClassifier with_rules(std::string_view rules_text);
  // with_rules(contents of the file). Throws std::runtime_error when the file cannot be read, and
  // std::invalid_argument ("<path>: bounce rules line 3: …") on a bad rule.
  static BounceClassifier from_file(const std::string& path);

  // An SMTP reply (basic code, enhanced code like "5.1.1" or empty, text) — or a local failure with code 0
  // ("connection timed out", "no MX", …) — plus the MX host that answered (empty when none). When `enhanced`
  // is empty and the text starts with an enhanced code ("5.1.1 User unknown"), that one is used.
  Classification classify(int code, std::string_view enhanced, std::string_view text,
                          std::string_view mx_host = {}) const;

  struct Rule;

 private:
  BounceClassifier() = default;
  std::shared_ptr<const std::vector<Rule>> user_;
  std::shared_ptr<const std::vector<Rule>> defaults_;
};

}  // namespace postroom::sending
