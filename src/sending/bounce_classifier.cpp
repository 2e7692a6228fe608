// Bounce rules: parsing (once, at load) and matching. Substring conditions are compared against a lowercased,
// whitespace-collapsed copy of the reply text; the few regular expressions are compiled once per rule set.
#include "sending/bounce_classifier.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace postroom::sending {
namespace {

// config/bounce-rules.conf, byte for byte (tests/unit/bounce_classifier_test.cpp checks it).
constexpr std::string_view kDefaultRules =
    R"RULES(# Postroom bounce rules: which category a failed delivery gets, and whether it is soft or hard.
#
# This file is the built-in default set (src/sending/bounce_classifier.cpp carries the same text; a unit test
# keeps the two equal). A rules file of your own uses the same format; its rules are tried before these.
#
# One rule per line. Blank lines and everything after a '#' outside quotes are ignored. A rule is a category
# followed by conditions, all of which must hold; the first rule that matches decides.
#
#   code=5xx,421          the SMTP reply code: three characters, each a digit or x. 0 (or "local") is a local
#                         failure with no SMTP reply (DNS, connection, timeout). A list means any of them.
#   enhanced=5.1.*,*.2.2  the enhanced status code (RFC 3463); each part a number or *; "5.*" is any 5.x.x.
#   text="user unknown"   the reply text contains this, ignoring case (any run of whitespace counts as one space)
#   text=/regex/          …or matches this ECMAScript regular expression, ignoring case. A comma-separated list
#                         ("a","b",/c/) means any of them; several text= conditions must all hold.
#   mx=.google.com        the MX host that answered ends with this (".x.com": below x.com; "x.com": x.com or below)
#   hard | soft           overrides the permanence, which otherwise follows the code: 5xx hard, 4xx soft; for a
#                         local failure the enhanced code's class if there is one (5.x.x hard), else soft.
#
# Categories: transientfail greylisting badsender block content dnsFail generalfail other relayfail serverfail
# spam verifyfail timeout badrecipient overquota serverpolicy spam_gmail

# --- Gave up: the queue lifetime ran out ------------------------------------------------------------------------
timeout       enhanced=*.4.7 hard
timeout       text="delivery time expired","message expired","retry timeout exceeded","cannot send message for","could not be delivered within","queue lifetime","too long in queue","in the queue too long","maximum time in queue" hard

# --- Local failures (no SMTP reply) -----------------------------------------------------------------------------
dnsFail       code=0 text="try again","temporary","servfail","server failure","dns timeout"
dnsFail       code=0 text="nxdomain","host not found","domain not found","no such domain","domain does not exist","non-existent domain","nonexistent domain","null mx","does not accept mail" hard
dnsFail       code=0 text="no mx","mx record","no a record","a record","address record","name service","dns","name resolution","resolve","lookup"
timeout       code=0 text="timed out","timeout","time out","no answer from host"
serverfail    code=0 text="connection refused","connection reset","refused to talk","network is unreachable","no route to host","host is unreachable","lost connection","connection closed","connection dropped","unexpected eof","broken pipe","tls","ssl","handshake","certificate"

# --- Replies that mean one thing whoever sends them -------------------------------------------------------------
content       text="virus","malware","infected","trojan","phishing","potential security issue","prohibited attachment","banned attachment","attachment type","file type is not allowed","executable"
relayfail     text="relay access denied","relaying denied","relay denied","relay not permitted","relaying not permitted","not permitted to relay","unable to relay","relay not allowed","relaying not allowed","not allowed to relay","open relay","we do not relay","relaying disallowed","relay prohibited","no relaying","relay rejected","relaying mail to","relay attempt"
serverpolicy  enhanced=*.7.* text="has a policy that prohibits"
serverpolicy  text="does not allow external forwarding","external forwarding is disabled"

# --- Gmail limitations: authentication, sudden volume, reputation -------------------------------------------------
spam_gmail    enhanced=*.7.28
spam_gmail    enhanced=*.7.26,*.7.27 text="gmail","google","unauthenticated"
spam_gmail    enhanced=*.7.* mx=.google.com,.googlemail.com
spam_gmail    enhanced=*.7.* text="gmail","support.google.com"
spam_gmail    code=4xx,5xx text="unusual rate of unsolicited mail","support.google.com/mail/?p=unsolicited","support.google.com/mail/answer/81126"

# --- Authentication and address verification ---------------------------------------------------------------------
verifyfail    text="dmarc",/\bspf\b/,"dkim","sender verify failed","sender verification failed","recipient verification failed","recipient verify failed","verification failed","unverified address","could not be verified","cannot be verified","cannot verify","can't verify","unable to verify","callout verification","sender is unauthenticated","unauthenticated email","unauthenticated mail","authentication checks","sender id"
verifyfail    enhanced=*.7.20,*.7.21,*.7.22,*.7.23,*.7.24,*.7.25,*.7.26,*.7.27

# --- Mailbox full ---------------------------------------------------------------------------------------------------
overquota     enhanced=*.2.2
overquota     text="mailbox full","mailbox is full","mailbox size limit","over quota","overquota","quota exceeded","exceeded quota","exceeds quota","quota","insufficient storage for mailbox","mailfolder is full","maildir over","full mailbox","exceeded storage allocation","exceeded the storage","is over its storage"

# --- The sender address ---------------------------------------------------------------------------------------------
badsender     enhanced=*.1.7,*.1.8
badsender     text="sender address rejected","domain of sender address","sender domain","sender rejected","invalid sender","bad sender","sender unknown","unknown sender","sender not allowed","sender address is invalid","mail from rejected","invalid mail from","return path","envelope sender","sender denied"

# --- The recipient does not exist (clear cases) ---------------------------------------------------------------------
badrecipient  enhanced=*.4.1 text="recipient address rejected"
badrecipient  enhanced=5.1.0,5.1.1,5.1.2,5.1.3,5.1.6,5.1.10,5.2.1
badrecipient  text="user unknown","unknown user","no such user","no such recipient","no such mailbox","no such address","no mailbox","mailbox not found","mailbox does not exist","mailbox unavailable or does not exist","user not found","recipient not found","recipientnotfound","recipnotfound","address not found","does not exist","doesn't exist","invalid recipient","invalid mailbox","unknown recipient","recipient unknown","unknown address","unknown local part","unrouteable address","unroutable address","account disabled","account is disabled","account has been disabled","mailbox disabled","mailbox is disabled","mailbox is inactive","account is inactive","inactive user","no longer active","not a valid mailbox","bad destination mailbox","doesn't have a","does not have an account","not our customer","user doesn't have"

# --- Blocked: blocklists, reputation, access lists ------------------------------------------------------------------
block         text="blocked using","blacklist","blocklist","block list","blacklisted","black list","denylist","deny list",/\b(rbl|dnsbl|rbls)\b/,"spamhaus","spamcop","barracuda","sorbs","uceprotect","listed at","listed on","on our block","client host rejected","connections will not be accepted","not accepted from this ip","traffic not accepted","[tss04]","user complaints","envelope blocked","blocked senders","ip reputation","poor reputation","low reputation","bad reputation"

# --- Content and spam -----------------------------------------------------------------------------------------------
content       text="content rejected","message content","content filter","content policy","rejected due to content","bad content","objectionable content","contains unacceptable"
spam          text="spam","junk","unsolicited","bulk mail","bulk email"

# --- Blocked, the rest ----------------------------------------------------------------------------------------------
block         text="blocked","access denied","banned","reputation","security policies","security policy","not allowed to send","permanently deferred"

# --- Greylisting and server trouble --------------------------------------------------------------------------------
greylisting   text="greylist","grey list","graylist","gray list","grey-list","gray-list","postgrey","greylisting","graylisting"
serverfail    text="local problem","local error","internal error","internal server error","system error","system storage","queue file write error","server configuration error","resources temporarily unavailable","insufficient resources","insufficient system resources"
greylisting   code=450,451 text="try again later","please try again","try later","retry later","come back later","temporarily rejected","temporarily deferred","not yet authorized","not yet allowed","retry in"
timeout       code=4xx text="timed out","timeout"

# --- Policy ---------------------------------------------------------------------------------------------------------
serverpolicy  text="policy","policies","administrative prohibition","prohibited","not authorized","not permitted","size exceeds","exceeds size","too large","too big","message size","size limit","maximum message size","must issue a starttls","tls required","encryption required","authentication required","reverse dns","ptr record",/\brdns\b/,"helo command rejected","ehlo command rejected","fully-qualified"
serverpolicy  enhanced=5.3.4,5.2.3,5.7.0,5.7.1

# --- The recipient, less clear cases -------------------------------------------------------------------------------
badrecipient  code=5xx text="mailbox unavailable","recipient address rejected","recipient rejected","address rejected","invalid address","mailbox not available","not a valid","rejected recipient"
badrecipient  code=5xx enhanced=5.1.*
serverpolicy  enhanced=5.7.*

# --- Server failures ------------------------------------------------------------------------------------------------
serverfail    code=421
serverfail    text="service not available","service unavailable","temporarily unavailable","server busy","not accepting","shutting down","closing connection","try again later"
serverfail    enhanced=*.3.*,*.4.*

# --- Whatever is left -----------------------------------------------------------------------------------------------
transientfail code=4xx
generalfail   code=5xx
transientfail code=0 enhanced=4.*
generalfail   code=0 enhanced=5.*
other
)RULES";

constexpr std::size_t kMaxTextBytes = 4096;  // matched prefix of a reply text (multi-line replies included)

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// Lowercase ASCII, every run of whitespace one space, no leading or trailing space, at most kMaxTextBytes.
std::string normalize(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxTextBytes));
  bool pending_space = false;
  for (const char c : text) {
    if (out.size() >= kMaxTextBytes) break;
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// An enhanced status code "c.s.d" (RFC 3463: class 2, 4 or 5; subject and detail up to three digits).
std::optional<std::array<int, 3>> parse_enhanced(std::string_view text) {
  std::array<int, 3> parts{};
  std::size_t index = 0;
  std::size_t pos = 0;
  for (int part = 0; part < 3; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    int value = 0;
    std::size_t digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && digits < 4) {
      value = value * 10 + (text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || digits > 3 || (part == 0 && digits != 1)) return std::nullopt;
    parts[index++] = value;
  }
  if (pos != text.size()) return std::nullopt;
  if (parts[0] != 2 && parts[0] != 4 && parts[0] != 5) return std::nullopt;
  return parts;
}

// "5.1.1 user unknown" or "550 5.1.1 user unknown" (code given) → "5.1.1"; else nullopt.
std::optional<std::array<int, 3>> enhanced_at_start(int code, std::string_view text) {
  text = trim(text);
  const std::string code_text = std::to_string(code);
  if (code > 0 && text.substr(0, 3) == code_text && text.size() > 3 && (text[3] == ' ' || text[3] == '-')) {
    text = trim(text.substr(4));
  }
  if (!text.empty() && text.front() == '#') text.remove_prefix(1);
  const std::size_t end = text.find_first_of(" \t\r\n");
  return parse_enhanced(text.substr(0, end));
}

struct CodePattern {
  std::array<char, 3> digits{};  // '0'-'9' or 'x'
  bool local = false;            // code 0: no SMTP reply
  bool matches(int code) const {
    if (local) return code == 0;
    if (code < 100 || code > 999) return false;
    const std::string text = std::to_string(code);
    for (std::size_t i = 0; i < 3; ++i) {
      if (digits[i] != 'x' && digits[i] != text[i]) return false;
    }
    return true;
  }
};

struct EnhancedPattern {
  std::array<int, 3> parts{-1, -1, -1};  // -1: any
  bool matches(const std::array<int, 3>& code) const {
    for (std::size_t i = 0; i < 3; ++i) {
      if (parts[i] >= 0 && parts[i] != code[i]) return false;
    }
    return true;
  }
};

// One text= condition: any of its needles or expressions.
struct TextCondition {
  std::vector<std::string> needles;  // normalized
  std::vector<std::regex> expressions;
  bool matches(const std::string& normalized) const {
    for (const std::string& needle : needles) {
      if (normalized.find(needle) != std::string::npos) return true;
    }
    for (const std::regex& expression : expressions) {
      if (std::regex_search(normalized, expression)) return true;
    }
    return false;
  }
};

}  // namespace

struct BounceClassifier::Rule {
  std::string category;
  std::string line;
  std::optional<bool> permanent;
  std::vector<CodePattern> codes;         // empty: any
  std::vector<EnhancedPattern> enhanced;  // empty: any
  std::vector<TextCondition> texts;       // all must hold
  std::vector<std::string> mx_suffixes;   // empty: any; lowercase
};

namespace {

using Rule = BounceClassifier::Rule;

[[noreturn]] void fail(std::size_t line_number, const std::string& message) {
  throw std::invalid_argument("bounce rules line " + std::to_string(line_number) + ": " + message);
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = value.find(',', start);
    items.emplace_back(value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

CodePattern parse_code_pattern(const std::string& item, std::size_t line_number) {
  CodePattern pattern;
  const std::string text = lower(item);
  if (text == "0" || text == "local") {
    pattern.local = true;
    return pattern;
  }
  if (text.size() != 3 || !(text[0] >= '1' && text[0] <= '5')) {
    fail(line_number, "bad code \"" + item + "\" (expected three characters like 550 or 5xx, or 0)");
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != 'x') {
      fail(line_number, "bad code \"" + item + "\" (expected three characters like 550 or 5xx, or 0)");
    }
    pattern.digits[i] = text[i];
  }
  return pattern;
}

EnhancedPattern parse_enhanced_pattern(const std::string& item, std::size_t line_number) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = item.find('.', start);
    parts.push_back(item.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() < 3 && !parts.empty() && parts.back() == "*") {
    while (parts.size() < 3) parts.push_back("*");
  }
  const std::string problem = "bad enhanced code \"" + item + "\" (expected like 5.1.1, 5.1.* or *.7.*)";
  if (parts.size() != 3) fail(line_number, problem);
  EnhancedPattern pattern;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string& part = parts[i];
    if (part == "*") continue;
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      fail(line_number, problem);
    }
    pattern.parts[i] = std::stoi(part);
  }
  if (pattern.parts[0] >= 0 && pattern.parts[0] != 2 && pattern.parts[0] != 4 && pattern.parts[0] != 5) {
    fail(line_number, problem);
  }
  return pattern;
}

std::string canonical_category(std::string_view name, std::size_t line_number) {
  for (const BounceCategory& category : bounce_categories()) {
    if (lower(category.name) == lower(name)) return category.name;
  }
  fail(line_number, "unknown category \"" + std::string(name) + "\"");
}

// Reads one text= value: a comma-separated list of "quoted" strings and /regular expressions/.
TextCondition parse_text_value(std::string_view line, std::size_t& pos, std::size_t line_number) {
  TextCondition condition;
  while (true) {
    if (pos >= line.size() || (line[pos] != '"' && line[pos] != '/')) {
      fail(line_number, "text= expects \"a substring\" or /a regex/");
    }
    const char quote = line[pos++];
    std::string item;
    bool closed = false;
    while (pos < line.size()) {
      const char c = line[pos++];
      if (c == '\\' && pos < line.size()) {
        const char next = line[pos++];
        // In a regex, keep the backslash unless it escapes the delimiter.
        if (quote == '/' && next != '/') item += '\\';
        item += next;
        continue;
      }
      if (c == quote) {
        closed = true;
        break;
      }
      item += c;
    }
    if (!closed) fail(line_number, std::string("unterminated ") + (quote == '"' ? "string" : "regex"));
    if (item.empty()) fail(line_number, "empty text pattern");
    if (quote == '"') {
      condition.needles.push_back(normalize(item));
    } else {
      try {
        condition.expressions.emplace_back(item, std::regex::ECMAScript | std::regex::icase);
      } catch (const std::regex_error& error) {
        fail(line_number, "bad regex /" + item + "/: " + error.what());
      }
    }
    if (pos < line.size() && line[pos] == ',') {
      ++pos;
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      continue;
    }
    if (pos < line.size() && !is_space(line[pos]) && line[pos] != '#') {
      fail(line_number, "unexpected character after text pattern");
    }
    return condition;
  }
}

std::optional<Rule> parse_rule(std::string_view line, std::size_t line_number) {
  Rule rule;
  std::size_t pos = 0;
  bool have_category = false;
  std::size_t content_end = 0;
  while (true) {
    while (pos < line.size() && is_space(line[pos])) ++pos;
    if (pos >= line.size() || line[pos] == '#') break;
    const std::size_t token_start = pos;
    if (!have_category) {
      while (pos < line.size() && !is_space(line[pos]) && line[pos] != '#') ++pos;
      rule.category = canonical_category(line.substr(token_start, pos - token_start), line_number);
      have_category = true;
      content_end = pos;
      continue;
    }
    std::size_t key_end = pos;
    while (key_end < line.size() && (std::isalpha(static_cast<unsigned char>(line[key_end])) || line[key_end] == '_')) {
      ++key_end;
    }
    const std::string key = lower(line.substr(pos, key_end - pos));
    if (key_end >= line.size() || line[key_end] != '=') {
      // A bare word: the permanence override.
      std::size_t word_end = pos;
      while (word_end < line.size() && !is_space(line[word_end]) && line[word_end] != '#') ++word_end;
      const std::string word = lower(line.substr(pos, word_end - pos));
      if (word != "hard" && word != "soft") {
        fail(line_number, "unknown word \"" + std::string(line.substr(pos, word_end - pos)) +
                              "\" (expected code=, enhanced=, text=, mx=, hard or soft)");
      }
      const bool permanent = word == "hard";
      if (rule.permanent && *rule.permanent != permanent) fail(line_number, "both hard and soft");
      rule.permanent = permanent;
      pos = word_end;
      content_end = pos;
      continue;
    }
    pos = key_end + 1;
    if (key == "text") {
      rule.texts.push_back(parse_text_value(line, pos, line_number));
      content_end = pos;
      continue;
    }
    const std::size_t value_start = pos;
    while (pos < line.size() && !is_space(line[pos]) && line[pos] != '#') ++pos;
    const std::string value(line.substr(value_start, pos - value_start));
    content_end = pos;
    if (value.empty()) fail(line_number, key + "= has no value");
    const std::vector<std::string> items = split_list(value);
    for (const std::string& item : items) {
      if (item.empty()) fail(line_number, "empty item in " + key + "=");
    }
    if (key == "code") {
      for (const std::string& item : items) rule.codes.push_back(parse_code_pattern(item, line_number));
    } else if (key == "enhanced") {
      for (const std::string& item : items) rule.enhanced.push_back(parse_enhanced_pattern(item, line_number));
    } else if (key == "mx") {
      for (const std::string& item : items) {
        std::string suffix = lower(item);
        while (!suffix.empty() && suffix.back() == '.') suffix.pop_back();
        if (suffix.empty() || suffix == ".") fail(line_number, "bad mx suffix \"" + item + "\"");
        rule.mx_suffixes.push_back(std::move(suffix));
      }
    } else {
      fail(line_number, "unknown condition \"" + key + "=\" (expected code=, enhanced=, text= or mx=)");
    }
  }
  if (!have_category) return std::nullopt;
  rule.line = std::string(trim(line.substr(0, content_end)));
  return rule;
}

std::vector<Rule> parse_rules(std::string_view text) {
  std::vector<Rule> rules;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::string_view line =
        text.substr(start, newline == std::string_view::npos ? std::string_view::npos : newline - start);
    ++line_number;
    if (std::optional<Rule> rule = parse_rule(line, line_number)) rules.push_back(std::move(*rule));
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  return rules;
}

bool mx_matches(const std::vector<std::string>& suffixes, const std::string& host) {
  if (host.empty()) return false;
  for (const std::string& suffix : suffixes) {
    if (suffix.front() == '.') {
      if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
    } else if (host == suffix || (host.size() > suffix.size() && host.ends_with(suffix) &&
                                  host[host.size() - suffix.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

struct Input {
  int code = 0;
  std::optional<std::array<int, 3>> enhanced;
  std::string text;  // normalized
  std::string mx;    // lowercase, no trailing dot
};

bool rule_matches(const Rule& rule, const Input& input) {
  if (!rule.codes.empty() &&
      std::none_of(rule.codes.begin(), rule.codes.end(), [&](const CodePattern& p) { return p.matches(input.code); })) {
    return false;
  }
  if (!rule.enhanced.empty()) {
    if (!input.enhanced) return false;
    const std::array<int, 3>& code = *input.enhanced;
    if (std::none_of(rule.enhanced.begin(), rule.enhanced.end(),
                     [&code](const EnhancedPattern& p) { return p.matches(code); })) {
      return false;
    }
  }
  if (!rule.mx_suffixes.empty() && !mx_matches(rule.mx_suffixes, input.mx)) return false;
  for (const TextCondition& condition : rule.texts) {
    if (!condition.matches(input.text)) return false;
  }
  return true;
}

bool default_permanence(const Input& input) {
  if (input.code >= 500 && input.code <= 599) return true;
  if (input.code >= 400 && input.code <= 499) return false;
  return input.enhanced && (*input.enhanced)[0] == 5;
}

}  // namespace

const std::vector<BounceCategory>& bounce_categories() {
  static const std::vector<BounceCategory> categories = {
      {"transientfail", "Transient failure", false},
      {"greylisting", "Greylisting", false},
      {"badsender", "Bad sender", false},
      {"block", "Blocked", false},
      {"content", "Content issue", false},
      {"dnsFail", "DNS failure", false},
      {"generalfail", "General failure", false},
      {"other", "Other", false},
      {"relayfail", "Relay failure", false},
      {"serverfail", "Server failure", false},
      {"spam", "Spam detected", false},
      {"verifyfail", "Verification failed", false},
      {"timeout", "Timeout", true},
      {"badrecipient", "Bad recipient", true},
      {"overquota", "Over quota", true},
      {"serverpolicy", "Server policy", false},
      {"spam_gmail", "Gmail limitation", false},
  };
  return categories;
}

const BounceCategory* find_bounce_category(std::string_view name) {
  for (const BounceCategory& category : bounce_categories()) {
    if (category.name == name) return &category;
  }
  return nullptr;
}

std::string_view default_bounce_rules() { return kDefaultRules; }

BounceClassifier BounceClassifier::defaults() {
  static const std::shared_ptr<const std::vector<Rule>> rules =
      std::make_shared<const std::vector<Rule>>(parse_rules(kDefaultRules));
  BounceClassifier classifier;
  classifier.defaults_ = rules;
  return classifier;
}

BounceClassifier BounceClassifier::with_rules(std::string_view rules_text) {
  BounceClassifier classifier = defaults();
  classifier.user_ = std::make_shared<const std::vector<Rule>>(parse_rules(rules_text));
  return classifier;
}

BounceClassifier BounceClassifier::from_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read bounce rules file " + path);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) throw std::runtime_error("cannot read bounce rules file " + path);
  try {
    return with_rules(contents.str());
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(path + ": " + error.what());
  }
}

Classification BounceClassifier::classify(int code, std::string_view enhanced, std::string_view text,
                                          std::string_view mx_host) const {
  Input input;
  input.code = code;
  input.enhanced = parse_enhanced(trim(enhanced));
  if (!input.enhanced && trim(enhanced).empty()) input.enhanced = enhanced_at_start(code, text);
  input.text = normalize(text);
  input.mx = lower(trim(mx_host));
  while (!input.mx.empty() && input.mx.back() == '.') input.mx.pop_back();

  const Rule* matched = nullptr;
  for (const auto* rules : {user_.get(), defaults_.get()}) {
    if (!rules || matched) continue;
    for (const Rule& rule : *rules) {
      if (rule_matches(rule, input)) {
        matched = &rule;
        break;
      }
    }
  }
  Classification result;
  result.category = matched ? matched->category : "other";
  result.rule = matched ? matched->line : "";
  result.permanent = matched && matched->permanent ? *matched->permanent : default_permanence(input);
  const BounceCategory* category = find_bounce_category(result.category);
  result.suppress = result.permanent && category && category->suppress;
  return result;
}

}  // namespace postroom::sending
