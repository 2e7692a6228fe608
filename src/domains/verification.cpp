#include "domains/verification.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dns/records.h"

namespace postroom::domains {

namespace {

using dns::Answer;
using dns::RecordType;
using dns::Status;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// A host name for comparison: lowercase, without the trailing dot.
std::string normalize_host(std::string_view host) {
  std::string out = lower(host);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool same_host(std::string_view a, std::string_view b) { return normalize_host(a) == normalize_host(b); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// `found` is shown to people and serialized to JSON: printable ASCII only, at most max_found_length characters
// (shortened in the middle, so that both the start of a record and the end of a long key stay visible).
std::string condense(std::string_view text) {
  std::string clean;
  clean.reserve(std::min(text.size(), max_found_length * 2));
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    clean.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (clean.size() <= max_found_length) return clean;
  constexpr std::string_view marker = "...";
  const std::size_t keep = max_found_length - marker.size();
  const std::size_t head = keep * 2 / 3;
  const std::size_t tail = keep - head;
  return clean.substr(0, head) + std::string(marker) + clean.substr(clean.size() - tail);
}

void set_verdict(DnsRecord& record, RecordStatus status, std::string reason, std::string_view found) {
  record.status = status;
  record.reason = status == RecordStatus::pass ? std::string() : std::move(reason);
  record.found = condense(found);
}

const Answer* find_answer(const std::vector<Answer>& answers, RecordType type) {
  for (const auto& a : answers) {
    if (a.query.type == type) return &a;
  }
  return nullptr;
}

bool is_absent(Status s) { return s == Status::nxdomain || s == Status::nodata; }
bool is_failure(Status s) { return s != Status::ok && !is_absent(s); }

std::string failure_reason(const Answer& a) {
  const std::string status(dns::to_string(a.status));
  std::string out = "DNS ";
  out += dns::to_string(a.query.type);
  out += " query for " + a.query.name + " failed: ";
  if (a.error.empty() || a.error == status) {
    out += status;
  } else if (a.error.rfind(status, 0) == 0) {
    out += a.error;  // already starts with the status ("refused (or no DNS server reachable)")
  } else {
    out += status + " (" + a.error + ")";
  }
  return out;
}

std::string absent_reason(const Answer& a, std::string_view what) {
  std::string out = "no ";
  out += what;
  out += " record at " + a.query.name;
  if (!a.cnames.empty()) {
    out += " (it is a CNAME to " + a.cnames.back() + ")";
  } else if (a.status == Status::nxdomain) {
    out += " (the name does not exist)";
  }
  return out;
}

// For an answer that is not `ok`: missing or network_error. Returns false when the answer is usable.
bool judge_unusable(DnsRecord& record, const Answer* a, RecordType type, std::string_view what) {
  if (!a) {
    set_verdict(record, RecordStatus::network_error,
                "no answer to the " + std::string(dns::to_string(type)) + " query for " + record.domain, "");
    return true;
  }
  if (a->ok()) return false;
  if (is_absent(a->status)) {
    set_verdict(record, RecordStatus::missing, absent_reason(*a, what), "");
  } else {
    set_verdict(record, RecordStatus::network_error, failure_reason(*a), "");
  }
  return true;
}

std::string mx_text(const dns::MxRecord& mx) { return "MX " + std::to_string(mx.preference) + " " + mx.host; }

std::string mx_list(const Answer& a) {
  std::vector<std::string> items;
  for (const auto& mx : a.mx) items.push_back(mx_text(mx));
  return join(items, ", ");
}

// ---- CNAME (verification, link_verification) ----

void judge_cname(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::cname);
  if (judge_unusable(record, a, RecordType::cname, "CNAME")) return;
  if (a->cnames.empty()) {
    set_verdict(record, RecordStatus::missing, "no CNAME record at " + record.domain, "");
    return;
  }
  const std::string& target = a->cnames.front();
  const std::string found = join(a->cnames, " -> ");
  if (same_host(target, record.value)) {
    set_verdict(record, RecordStatus::pass, "", found);
  } else {
    set_verdict(record, RecordStatus::fail, "CNAME points to " + target + ", expected " + record.value, found);
  }
}

// ---- return_path: a CNAME to value, or (without a CNAME) an MX whose host is value ----

void judge_return_path(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* c = find_answer(answers, RecordType::cname);
  const Answer* m = find_answer(answers, RecordType::mx);
  // The MX query follows a CNAME, so its answer also tells whether the name is a CNAME.
  std::optional<std::string> target;
  if (c && c->ok() && !c->cnames.empty()) {
    target = c->cnames.front();
  } else if (m && !m->cnames.empty()) {
    target = m->cnames.front();
  }
  if (target) {
    const std::string found = "CNAME " + *target;
    if (same_host(*target, record.value)) {
      set_verdict(record, RecordStatus::pass, "", found);
    } else {
      set_verdict(record, RecordStatus::fail, "CNAME points to " + *target + ", expected " + record.value, found);
    }
    return;
  }
  if (m && m->ok()) {
    const std::string found = mx_list(*m);
    const bool match = std::any_of(m->mx.begin(), m->mx.end(),
                                   [&](const dns::MxRecord& mx) { return same_host(mx.host, record.value); });
    if (match) {
      set_verdict(record, RecordStatus::pass, "", found);
    } else {
      set_verdict(record, RecordStatus::fail,
                  "MX at " + record.domain + " points to " + found + ", expected a CNAME or MX to " + record.value,
                  found);
    }
    return;
  }
  if (!c || !m) {
    set_verdict(record, RecordStatus::network_error,
                std::string("no answer to the ") + (c ? "MX" : "CNAME") + " query for " + record.domain, "");
  } else if (is_failure(c->status)) {
    set_verdict(record, RecordStatus::network_error, failure_reason(*c), "");
  } else if (is_failure(m->status)) {
    set_verdict(record, RecordStatus::network_error, failure_reason(*m), "");
  } else {
    std::string reason = "no CNAME or MX record at " + record.domain;
    if (c->status == Status::nxdomain) reason += " (the name does not exist)";
    set_verdict(record, RecordStatus::missing, std::move(reason), "");
  }
}

// ---- SPF ----

bool looks_like_spf(std::string_view text) {
  const std::string_view v = trim(text);
  return v.size() >= 6 && iequals(v.substr(0, 6), "v=spf1") && (v.size() == 6 || v[6] == ' ' || v[6] == '\t');
}

std::string term_text(const dns::SpfTerm& t) {
  std::string out;
  if (t.qualifier != '+') out.push_back(t.qualifier);
  out += t.name;
  if (!t.value.empty()) {
    if (t.value.front() != '/') out.push_back(':');
    out += t.value;
  }
  return out;
}

bool is_compared_term(const dns::SpfTerm& t) {
  return t.qualifier != '=' &&
         (t.name == "include" || t.name == "ip4" || t.name == "ip6" || t.name == "a" || t.name == "mx");
}

// "a" / "mx" without a domain mean the sending domain itself; with only "/cidr" too.
std::string term_target(const dns::SpfTerm& t, const std::string& own_domain) {
  if ((t.name == "a" || t.name == "mx") && (t.value.empty() || t.value.front() == '/')) return own_domain + t.value;
  return t.value;
}

std::string number_word(std::size_t n) {
  static constexpr std::string_view words[] = {"zero", "one", "two", "three", "four", "five"};
  return n < std::size(words) ? std::string(words[n]) : std::to_string(n);
}

void judge_spf(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::txt);
  if (judge_unusable(record, a, RecordType::txt, "TXT")) return;
  const std::vector<std::string> txts = a->txt_joined();
  std::vector<std::string> spf;
  for (const auto& t : txts) {
    if (looks_like_spf(t)) spf.push_back(t);
  }
  if (spf.empty()) {
    set_verdict(record, RecordStatus::missing, "no SPF record at " + record.domain, join(txts, " | "));
    return;
  }
  if (spf.size() > 1) {
    set_verdict(record, RecordStatus::fail, number_word(spf.size()) + " SPF records at " + record.domain,
                join(spf, " | "));
    return;
  }
  const std::string& found = spf.front();
  std::string error;
  const auto published = dns::parse_spf(found, &error);
  if (!published) {
    set_verdict(record, RecordStatus::fail, "SPF record is invalid: " + error, found);
    return;
  }
  const auto expected = dns::parse_spf(record.value, &error);
  if (!expected) {
    set_verdict(record, RecordStatus::fail, "the expected SPF value is invalid: " + error, found);
    return;
  }

  const std::string own = normalize_host(record.domain);
  // Only the mechanisms before "all" are ever evaluated.
  std::vector<dns::SpfTerm> live, after_all;
  bool seen_all = false;
  for (const auto& t : published->terms) {
    if (t.qualifier != '=' && t.name == "all") seen_all = true;
    if (!is_compared_term(t)) continue;
    (seen_all ? after_all : live).push_back(t);
  }
  auto same_mechanism = [&](const dns::SpfTerm& x, const dns::SpfTerm& y) {
    return x.name == y.name && term_target(x, own) == term_target(y, own);
  };

  std::vector<std::string> problems, absent;
  for (const auto& want : expected->terms) {
    if (!is_compared_term(want)) continue;
    const auto exact = std::find_if(live.begin(), live.end(), [&](const dns::SpfTerm& t) {
      return t.qualifier == want.qualifier && same_mechanism(t, want);
    });
    if (exact != live.end()) continue;
    const auto other_qualifier =
        std::find_if(live.begin(), live.end(), [&](const dns::SpfTerm& t) { return same_mechanism(t, want); });
    if (other_qualifier != live.end()) {
      problems.push_back("SPF record has " + term_text(*other_qualifier) + " instead of " + term_text(want));
    } else if (std::any_of(after_all.begin(), after_all.end(),
                           [&](const dns::SpfTerm& t) { return same_mechanism(t, want); })) {
      problems.push_back("SPF record lists " + term_text(want) + " after \"all\", where it is never evaluated");
    } else {
      absent.push_back(term_text(want));
    }
  }
  if (!absent.empty()) problems.insert(problems.begin(), "SPF record does not include " + join(absent, ", "));
  if (published->all_qualifier() == '+') problems.push_back("SPF ends with +all");

  if (problems.empty()) {
    set_verdict(record, RecordStatus::pass, "", found);
  } else {
    set_verdict(record, RecordStatus::fail, join(problems, "; "), found);
  }
}

// ---- DKIM ----

void judge_dkim(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::txt);
  if (judge_unusable(record, a, RecordType::txt, "TXT")) return;
  const std::vector<std::string> txts = a->txt_joined();
  const std::string found = join(txts, " | ");
  std::string error;
  const auto expected = dns::parse_dkim_key(record.value, &error);
  if (!expected) {
    set_verdict(record, RecordStatus::fail, "the expected DKIM value is invalid: " + error, found);
    return;
  }
  std::vector<dns::DkimKeyRecord> keys;
  std::string first_error;
  for (const auto& t : txts) {
    if (auto key = dns::parse_dkim_key(t, &error)) {
      keys.push_back(std::move(*key));
    } else if (first_error.empty()) {
      first_error = error;
    }
  }
  if (keys.empty()) {
    std::string reason = "TXT at " + record.domain + " is not a DKIM key record";
    if (txts.size() == 1 && !first_error.empty()) reason += " (" + first_error + ")";
    set_verdict(record, RecordStatus::fail, std::move(reason), found);
    return;
  }
  if (keys.size() > 1) {
    set_verdict(record, RecordStatus::fail, "several DKIM key records at " + record.domain, found);
    return;
  }
  const auto& key = keys.front();
  if (key.revoked()) {
    set_verdict(record, RecordStatus::fail, "DKIM key record is revoked (empty p=)", found);
  } else if (key.key_type != expected->key_type) {
    set_verdict(record, RecordStatus::fail, "DKIM key type is k=" + key.key_type + ", expected k=" + expected->key_type,
                found);
  } else if (!dns::dkim_keys_equal(key, *expected)) {
    set_verdict(record, RecordStatus::fail, "DKIM key differs from the published selector key", found);
  } else {
    set_verdict(record, RecordStatus::pass, "", found);
  }
}

// ---- DMARC ----

// RFC 7489 §6.6.3: records not starting with "v=DMARC1" are discarded. Whitespace around '=' and the case of
// the tag are tolerated here so that a near miss is reported as an invalid record rather than as none.
bool looks_like_dmarc(std::string_view text) {
  std::string compact;
  for (char c : trim(text)) {
    if (c == ';') break;
    if (c != ' ' && c != '\t') compact.push_back(c);
    if (compact.size() > 8) break;
  }
  return compact.size() >= 8 && iequals(std::string_view(compact).substr(0, 8), "v=dmarc1");
}

void judge_dmarc(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::txt);
  if (judge_unusable(record, a, RecordType::txt, "TXT")) return;
  const std::vector<std::string> txts = a->txt_joined();
  std::vector<std::string> dmarc;
  for (const auto& t : txts) {
    if (looks_like_dmarc(t)) dmarc.push_back(t);
  }
  if (dmarc.empty()) {
    set_verdict(record, RecordStatus::missing, "no DMARC record at " + record.domain, join(txts, " | "));
    return;
  }
  if (dmarc.size() > 1) {
    set_verdict(record, RecordStatus::fail, "several DMARC records at " + record.domain, join(dmarc, " | "));
    return;
  }
  std::string error;
  if (!dns::parse_dmarc(dmarc.front(), &error)) {
    set_verdict(record, RecordStatus::fail, "DMARC record is invalid: " + error, dmarc.front());
    return;
  }
  set_verdict(record, RecordStatus::pass, "", dmarc.front());
}

// ---- Records of other keys, judged by type ----

void judge_mx(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::mx);
  if (judge_unusable(record, a, RecordType::mx, "MX")) return;
  const std::string found = mx_list(*a);
  if (std::any_of(a->mx.begin(), a->mx.end(),
                  [&](const dns::MxRecord& mx) { return same_host(mx.host, record.value); })) {
    set_verdict(record, RecordStatus::pass, "", found);
  } else {
    set_verdict(record, RecordStatus::fail, "MX points to " + found + ", expected " + record.value, found);
  }
}

void judge_txt(DnsRecord& record, const std::vector<Answer>& answers) {
  const Answer* a = find_answer(answers, RecordType::txt);
  if (judge_unusable(record, a, RecordType::txt, "TXT")) return;
  const std::vector<std::string> txts = a->txt_joined();
  const std::string found = join(txts, " | ");
  const std::string_view want = trim(record.value);
  if (std::any_of(txts.begin(), txts.end(), [&](const std::string& t) { return trim(t) == want; })) {
    set_verdict(record, RecordStatus::pass, "", found);
  } else {
    set_verdict(record, RecordStatus::fail, "no TXT record at " + record.domain + " equals the expected value", found);
  }
}

enum class Rule { cname, return_path, spf, dkim, dmarc, mx, txt, unsupported };

Rule rule_for(const DnsRecord& record) {
  const std::string_view key = record.key;
  if (key == record_key::verification || key == record_key::link_verification) return Rule::cname;
  if (key == record_key::return_path) return Rule::return_path;
  if (key == record_key::spf) return Rule::spf;
  if (key == record_key::dkim1 || key == record_key::dkim2 || key == record_key::dkim_ed25519) return Rule::dkim;
  if (key == record_key::dmarc) return Rule::dmarc;
  if (iequals(record.type, "CNAME")) return Rule::cname;
  if (iequals(record.type, "MX")) return Rule::mx;
  if (iequals(record.type, "TXT")) return Rule::txt;
  return Rule::unsupported;
}

void check(const dns::Resolver& resolver, const std::vector<std::vector<DnsRecord>*>& domains, int max_in_flight) {
  std::vector<dns::Query> queries;
  std::vector<std::pair<DnsRecord*, std::size_t>> spans;  // record, number of its queries (in order)
  for (auto* records : domains) {
    if (!records) continue;
    for (auto& record : *records) {
      auto q = queries_for(record);
      spans.emplace_back(&record, q.size());
      for (auto& one : q) queries.push_back(std::move(one));
    }
  }
  std::vector<Answer> answers = resolver.resolve_all(queries, max_in_flight);
  std::size_t next = 0;
  std::vector<Answer> mine;
  for (auto& [record, count] : spans) {
    mine.assign(std::make_move_iterator(answers.begin() + static_cast<std::ptrdiff_t>(next)),
                std::make_move_iterator(answers.begin() + static_cast<std::ptrdiff_t>(next + count)));
    next += count;
    judge(*record, mine);
  }
}

}  // namespace

void judge(DnsRecord& record, const std::vector<dns::Answer>& answers) {
  switch (rule_for(record)) {
    case Rule::cname:
      return judge_cname(record, answers);
    case Rule::return_path:
      return judge_return_path(record, answers);
    case Rule::spf:
      return judge_spf(record, answers);
    case Rule::dkim:
      return judge_dkim(record, answers);
    case Rule::dmarc:
      return judge_dmarc(record, answers);
    case Rule::mx:
      return judge_mx(record, answers);
    case Rule::txt:
      return judge_txt(record, answers);
    case Rule::unsupported:
      break;
  }
  set_verdict(record, RecordStatus::fail, "unsupported record type \"" + record.type + "\"", "");
}

std::vector<dns::Query> queries_for(const DnsRecord& record) {
  switch (rule_for(record)) {
    case Rule::cname:
      return {{record.domain, RecordType::cname}};
    case Rule::return_path:
      return {{record.domain, RecordType::cname}, {record.domain, RecordType::mx}};
    case Rule::spf:
    case Rule::dkim:
    case Rule::dmarc:
    case Rule::txt:
      return {{record.domain, RecordType::txt}};
    case Rule::mx:
      return {{record.domain, RecordType::mx}};
    case Rule::unsupported:
      break;
  }
  return {};
}

void check_records(const dns::Resolver& resolver, std::vector<DnsRecord>& records) { check(resolver, {&records}, 64); }

void check_many(const dns::Resolver& resolver, std::vector<std::vector<DnsRecord>*>& domains, int max_in_flight) {
  check(resolver, domains, max_in_flight);
}

bool all_required_pass(const std::vector<DnsRecord>& records) {
  return std::all_of(records.begin(), records.end(),
                     [](const DnsRecord& r) { return !r.required || r.status == RecordStatus::pass; });
}

}  // namespace postroom::domains
