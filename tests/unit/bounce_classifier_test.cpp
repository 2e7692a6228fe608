// The bounce classifier: real replies from the big mailbox providers and the common MTAs, user rules before the
// defaults, the rule syntax and its errors, and the shipped rules file.
#include "sending/bounce_classifier.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

using postroom::sending::bounce_categories;
using postroom::sending::BounceClassifier;
using postroom::sending::Classification;
using postroom::sending::default_bounce_rules;
using postroom::sending::find_bounce_category;

namespace {

struct Reply {
  const char* source;
  int code;
  const char* enhanced;
  const char* text;
  const char* mx;
  const char* category;
  bool permanent;
  bool suppress;
};

std::ostream& operator<<(std::ostream& out, const Reply& reply) {
  return out << reply.source << ": " << reply.code << " " << reply.enhanced << " " << reply.text;
}

// clang-format off
const Reply kReplies[] = {
    // Gmail
    {"gmail", 550, "5.1.1", "The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser d2-20020a05600c251200b003f", "gmail-smtp-in.l.google.com", "badrecipient", true, true},
    {"gmail", 550, "5.7.26", "This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM. For this message, DKIM checks did not pass and SPF check for [example.com] did not pass with ip: [203.0.113.5].", "", "spam_gmail", true, false},
    {"gmail", 550, "5.7.26", "Unauthenticated email from example.com is not accepted due to domain's DMARC policy. Please contact the administrator of example.com domain if this was a legitimate mail.", "", "spam_gmail", true, false},
    {"gmail", 421, "4.7.28", "[203.0.113.5 15] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. Please visit https://support.google.com/mail/?p=UnsolicitedRateLimitError", "", "spam_gmail", false, false},
    {"gmail", 550, "5.7.1", "[203.0.113.5] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.", "", "spam_gmail", true, false},
    {"gmail", 421, "4.7.0", "[203.0.113.5] Our system has detected that this message is suspicious due to the very low reputation of the sending domain.", "alt1.aspmx.l.google.com", "spam_gmail", false, false},
    {"gmail", 552, "5.2.2", "The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm", "", "overquota", true, true},
    {"gmail", 452, "4.2.2", "The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp", "", "overquota", false, false},
    {"gmail", 550, "5.2.1", "The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser", "", "badrecipient", true, true},
    {"gmail", 552, "5.7.0", "This message was blocked because its content presents a potential security issue. Please visit https://support.google.com/mail/?p=BlockedMessage", "", "content", true, false},
    // Outlook / Hotmail / Exchange Online
    {"outlook", 550, "5.5.0", "Requested action not taken: mailbox unavailable (S2017062302).", "example-com.mail.protection.outlook.com", "badrecipient", true, true},
    {"outlook", 550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient nobody@example.com not found by SMTP address lookup", "", "badrecipient", true, true},
    {"outlook", 554, "5.2.2", "mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", "", "overquota", true, true},
    {"outlook", 550, "5.7.1", "Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.", "", "block", true, false},
    {"outlook", 421, "4.7.650", "The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)", "", "block", false, false},
    {"outlook", 451, "4.7.500", "Server busy. Please try again later from [203.0.113.5]. (S77719)", "", "greylisting", false, false},
    {"outlook", 550, "5.7.509", "Access denied, sending domain example.com does not pass DMARC verification and has a DMARC policy of reject.", "", "verifyfail", true, false},
    {"outlook", 550, "5.4.1", "Recipient address rejected: Access denied. AS(201806281) [DM6NAM10FT012.eop-nam10.prod.protection.outlook.com]", "", "badrecipient", true, true},
    {"outlook", 550, "5.7.606", "Access denied, banned sending IP [203.0.113.5]. To request removal from this list please visit https://sender.office.com/", "", "block", true, false},
    // Yahoo / AOL
    {"yahoo", 554, "", "delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) [0] - mta1234.mail.gq1.yahoo.com", "", "badrecipient", true, true},
    {"yahoo", 554, "", "delivery error: dd Sorry your message to nobody@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.gq1.yahoo.com", "", "badrecipient", true, true},
    {"yahoo", 553, "5.7.1", "[BL21] Connections will not be accepted from 203.0.113.5, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", "", "block", true, false},
    {"yahoo", 421, "4.7.0", "[TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "", "block", false, false},
    {"yahoo", 554, "5.7.9", "Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes", "", "serverpolicy", true, false},
    {"yahoo", 550, "5.7.9", "This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", "", "verifyfail", true, false},
    // Postfix
    {"postfix", 550, "5.1.1", "<nobody@example.com>: Recipient address rejected: User unknown in local recipient table", "", "badrecipient", true, true},
    {"postfix", 450, "4.2.0", "<nobody@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html", "", "greylisting", false, false},
    {"postfix", 554, "5.7.1", "<nobody@example.com>: Relay access denied", "", "relayfail", true, false},
    {"postfix", 554, "5.7.1", "Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5", "", "block", true, false},
    {"postfix", 450, "4.1.8", "<bounce@example.org>: Sender address rejected: Domain not found", "", "badsender", false, false},
    {"postfix", 552, "5.3.4", "Message size exceeds fixed limit", "", "serverpolicy", true, false},
    {"postfix", 452, "4.3.1", "Insufficient system storage", "", "serverfail", false, false},
    {"postfix", 452, "4.2.2", "<nobody@example.com>: mailbox full", "", "overquota", false, false},
    {"postfix", 450, "4.7.1", "Client host rejected: cannot find your hostname, [203.0.113.5]", "", "block", false, false},
    {"postfix", 504, "5.5.2", "<localhost>: Helo command rejected: need fully-qualified hostname", "", "serverpolicy", true, false},
    {"postfix", 450, "4.1.1", "<nobody@example.com>: Recipient address rejected: unverified address: Address verification in progress", "", "verifyfail", false, false},
    {"postfix", 421, "4.3.2", "Service not available, closing transmission channel", "", "serverfail", false, false},
    // Exim
    {"exim", 550, "", "Unrouteable address", "", "badrecipient", true, true},
    {"exim", 550, "", "Verification failed for <bounce@example.org>\n550-Unrouteable address\n550 Sender verify failed", "", "verifyfail", true, false},
    {"exim", 550, "", "Administrative prohibition", "", "serverpolicy", true, false},
    {"exim", 451, "", "Temporary local problem - please try later", "", "serverfail", false, false},
    {"exim", 550, "", "rejected because 203.0.113.5 is in a black list at zen.spamhaus.org", "", "block", true, false},
    {"exim", 550, "", "This message contains a virus (Eicar-Test-Signature) and has been rejected", "", "content", true, false},
    {"exim", 550, "", "No Such User Here", "", "badrecipient", true, true},
    // Sendmail
    {"sendmail", 550, "5.1.1", "<nobody@example.com>... User unknown", "", "badrecipient", true, true},
    {"sendmail", 553, "5.1.8", "<bounce@example.org>... Domain of sender address bounce@nx.example.org does not exist", "", "badsender", true, false},
    {"sendmail", 451, "4.7.1", "Please try again later", "", "greylisting", false, false},
    {"sendmail", 550, "5.7.1", "<nobody@example.com>... Relaying denied. Proper authentication required.", "", "relayfail", true, false},
    {"sendmail", 552, "5.2.2", "<nobody@example.com>... Mailbox full", "", "overquota", true, true},
    // Mimecast
    {"mimecast", 550, "", "Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [ExjzS1b6MyuWp8oQ1c4Jaw.uk97]", "", "badrecipient", true, true},
    {"mimecast", 550, "", "Rejected by header based Anti-Spoofing policy: bounce@example.org - https://community.mimecast.com/docs/DOC-1369#550 [kD9lZ.uk50]", "", "serverpolicy", true, false},
    {"mimecast", 451, "", "Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#451", "", "relayfail", false, false},
    {"mimecast", 554, "", "Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554", "", "block", true, false},
    {"mimecast", 451, "", "Please try again later - https://community.mimecast.com/docs/DOC-1369#451", "", "greylisting", false, false},
    {"mimecast", 550, "", "Envelope blocked - User Entry - https://community.mimecast.com/docs/DOC-1369#550", "", "block", true, false},
    // Assorted servers
    {"generic", 550, "5.7.1", "Message content rejected", "", "content", true, false},
    {"generic", 550, "5.7.1", "Message rejected: identified as SPAM", "", "spam", true, false},
    {"generic", 554, "5.7.1", "Your message looks like junk mail", "", "spam", true, false},
    {"generic", 530, "5.7.0", "Must issue a STARTTLS command first", "", "serverpolicy", true, false},
    {"generic", 550, "5.7.1", "Message rejected due to local policy", "", "serverpolicy", true, false},
    {"generic", 550, "5.7.23", "The message was rejected because of Sender Policy Framework violation", "", "verifyfail", true, false},
    {"generic", 550, "", "DKIM signature verification failed", "", "verifyfail", true, false},
    {"generic", 421, "", "mx.example.com Service not available", "", "serverfail", false, false},
    {"generic", 450, "", "Requested mail action not taken", "", "transientfail", false, false},
    {"generic", 550, "", "Requested action not taken", "", "generalfail", true, false},
    {"generic", 250, "2.0.0", "OK", "", "other", false, false},
    // Local failures (no SMTP reply)
    {"local", 0, "", "connect to mx.example.com[203.0.113.9]:25: Connection timed out", "", "timeout", false, false},
    {"local", 0, "", "Host or domain name not found. Name service error for name=nx.example type=MX: Host not found", "", "dnsFail", true, false},
    {"local", 0, "", "Host or domain name not found. Name service error for name=example.com type=MX: Host not found, try again", "", "dnsFail", false, false},
    {"local", 0, "", "no MX or A record for example.com", "", "dnsFail", false, false},
    {"local", 0, "", "NXDOMAIN", "", "dnsFail", true, false},
    {"local", 0, "", "connect to mx.example.com[203.0.113.9]:25: Connection refused", "", "serverfail", false, false},
    {"local", 0, "", "something nobody expected", "", "other", false, false},
    // From a DSN: no basic code, the Status field as the enhanced code
    {"dsn", 0, "4.4.7", "delivery time expired", "", "timeout", true, true},
    {"dsn", 0, "5.1.1", "X-Postfix; unknown user: \"nobody\"", "", "badrecipient", true, true},
    {"dsn", 0, "5.0.0", "X-Unix; something failed", "", "generalfail", true, false},
    {"dsn", 0, "4.0.0", "X-Unix; something failed", "", "transientfail", false, false},
};
// clang-format on

class BounceReplies : public ::testing::TestWithParam<Reply> {};

TEST_P(BounceReplies, ClassifiedAsExpected) {
  const Reply& reply = GetParam();
  static const BounceClassifier classifier = BounceClassifier::defaults();
  const Classification result = classifier.classify(reply.code, reply.enhanced, reply.text, reply.mx);
  EXPECT_EQ(result.category, reply.category) << reply << "\n  rule: " << result.rule;
  EXPECT_EQ(result.permanent, reply.permanent) << reply << "\n  rule: " << result.rule;
  EXPECT_EQ(result.suppress, reply.suppress) << reply << "\n  rule: " << result.rule;
  EXPECT_FALSE(result.rule.empty());
  EXPECT_NE(default_bounce_rules().find(result.rule), std::string_view::npos) << result.rule;
}

INSTANTIATE_TEST_SUITE_P(BounceClassifier, BounceReplies, ::testing::ValuesIn(kReplies));

TEST(BounceClassifier, HasManyRealWorldReplies) { EXPECT_GE(std::size(kReplies), 40u); }

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream out;
  out << file.rdbuf();
  return out.str();
}

const std::string kRulesPath = std::string(POSTROOM_SOURCE_DIR) + "/config/bounce-rules.conf";

TEST(BounceCategories, TheSeventeenOfTheDocsInOrder) {
  const auto& categories = bounce_categories();
  ASSERT_EQ(categories.size(), 17u);
  const char* names[] = {"transientfail", "greylisting",  "badsender", "block",        "content",   "dnsFail",
                         "generalfail",   "other",        "relayfail", "serverfail",   "spam",      "verifyfail",
                         "timeout",       "badrecipient", "overquota", "serverpolicy", "spam_gmail"};
  for (std::size_t i = 0; i < categories.size(); ++i) {
    EXPECT_EQ(categories[i].name, names[i]);
    const bool suppress =
        categories[i].name == "timeout" || categories[i].name == "badrecipient" || categories[i].name == "overquota";
    EXPECT_EQ(categories[i].suppress, suppress) << categories[i].name;
    EXPECT_FALSE(categories[i].event_name.empty());
  }
  EXPECT_EQ(find_bounce_category("dnsFail")->event_name, "DNS failure");
  EXPECT_EQ(find_bounce_category("spam_gmail")->event_name, "Gmail limitation");
  EXPECT_EQ(find_bounce_category("badrecipient")->event_name, "Bad recipient");
  EXPECT_EQ(find_bounce_category("dnsfail"), nullptr);
}

TEST(BounceClassifier, RulesFileIsTheBuiltInDefault) {
  const std::string contents = read_file(kRulesPath);
  ASSERT_FALSE(contents.empty()) << kRulesPath;
  EXPECT_EQ(contents, default_bounce_rules());
  EXPECT_NO_THROW(BounceClassifier::from_file(kRulesPath));
  EXPECT_NO_THROW(BounceClassifier::with_rules(contents));
}

TEST(BounceClassifier, EveryDefaultRuleNamesOneOfTheSeventeen) {
  std::set<std::string> known;
  for (const auto& category : bounce_categories()) known.insert(category.name);
  std::set<std::string> used;
  std::istringstream lines{std::string(default_bounce_rules())};
  std::string line;
  std::size_t rules = 0;
  while (std::getline(lines, line)) {
    const std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const std::string category = line.substr(start, line.find_first_of(" \t", start) - start);
    EXPECT_TRUE(known.count(category)) << "unknown category in: " << line;
    used.insert(category);
    ++rules;
  }
  EXPECT_GT(rules, 40u);
  // Every category can be reached by some default rule.
  EXPECT_EQ(used, known);
}

TEST(BounceClassifier, UserRulesComeFirst) {
  const BounceClassifier classifier = BounceClassifier::with_rules(
      "# ours\n"
      "\n"
      "block    text=\"user unknown\"   # a comment after the rule\n"
      "overquota code=552 soft\n"
      "serverpolicy mx=.example.net\n"
      "content  text=/attachments? (are|is) not allowed/\n");
  Classification result = classifier.classify(550, "5.1.1", "<x@example.com>... User Unknown");
  EXPECT_EQ(result.category, "block");
  EXPECT_TRUE(result.permanent);
  EXPECT_EQ(result.rule, "block    text=\"user unknown\"");

  result = classifier.classify(552, "5.2.2", "Mailbox full");
  EXPECT_EQ(result.category, "overquota");
  EXPECT_FALSE(result.permanent);
  EXPECT_FALSE(result.suppress);

  // ".example.net" is below example.net only.
  EXPECT_EQ(classifier.classify(550, "5.1.1", "rejected", "MX1.Example.NET.").category, "serverpolicy");
  EXPECT_EQ(classifier.classify(550, "5.1.1", "rejected", "example.net").category, "badrecipient");

  EXPECT_EQ(classifier.classify(554, "5.7.0", "Attachments ARE not allowed here").category, "content");

  // The defaults still apply behind them.
  EXPECT_EQ(classifier.classify(554, "5.7.1", "<a@b>: Relay access denied").category, "relayfail");
  // And the defaults alone are untouched.
  EXPECT_EQ(BounceClassifier::defaults().classify(550, "5.1.1", "User unknown").category, "badrecipient");
}

TEST(BounceClassifier, RuleSyntax) {
  const BounceClassifier classifier = BounceClassifier::with_rules(
      "DNSFAIL code=local text=\"weird resolver\"\n"                // categories in any case, 0 spelled "local"
      "spam code=55x,421 enhanced=5.* text=\"a  b\", \"c\\\"d\"\n"  // lists, whitespace runs, escaped quote
      "timeout enhanced=*.4.* text=\"xx\" text=\"yy\" hard\n"       // several text= must all hold
      "other mx=example.org\n");
  EXPECT_EQ(classifier.classify(0, "", "Weird   Resolver").category, "dnsFail");
  EXPECT_EQ(classifier.classify(553, "5.0.0", "A\n B").category, "spam");
  EXPECT_EQ(classifier.classify(553, "5.0.0", "say c\"d").category, "spam");
  EXPECT_NE(classifier.classify(553, "4.0.0", "a b").category, "spam");
  EXPECT_NE(classifier.classify(560, "5.0.0", "a b").category, "spam");
  Classification result = classifier.classify(451, "4.4.2", "xx and yy");
  EXPECT_EQ(result.category, "timeout");
  EXPECT_TRUE(result.permanent);
  EXPECT_TRUE(result.suppress);
  EXPECT_NE(classifier.classify(451, "4.4.2", "only xx").category, "timeout");
  EXPECT_EQ(classifier.classify(250, "", "", "mail.example.org").category, "other");
  EXPECT_EQ(classifier.classify(250, "", "", "example.org").rule, "other mx=example.org");
  EXPECT_EQ(classifier.classify(250, "", "", "badexample.org").rule, "other");  // the defaults' last rule
}

TEST(BounceClassifier, EnhancedCodeAtTheStartOfTheText) {
  const BounceClassifier classifier = BounceClassifier::defaults();
  EXPECT_EQ(classifier.classify(550, "", "5.1.1 RCPT rejected").category, "badrecipient");
  EXPECT_EQ(classifier.classify(550, "", "550 5.1.1 RCPT rejected").category, "badrecipient");
  EXPECT_EQ(classifier.classify(550, "", "#5.1.1 RCPT rejected").category, "badrecipient");
  EXPECT_EQ(classifier.classify(550, "", "RCPT rejected").category, "generalfail");
}

void expect_refused(const std::string& rules, const std::string& line, const std::string& words) {
  try {
    (void)BounceClassifier::with_rules(rules);
    ADD_FAILURE() << "accepted: " << rules;
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("line " + line + ":"), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }
}

TEST(BounceClassifier, BadRulesAreRefusedWithTheLineNumber) {
  expect_refused("bogus code=550", "1", "unknown category");
  expect_refused("# comment\n\nblock code=5x\n", "3", "bad code");
  expect_refused("block code=5xx\nblock code=650", "2", "bad code");
  expect_refused("block enhanced=5.1", "1", "bad enhanced code");
  expect_refused("block enhanced=3.1.1", "1", "bad enhanced code");
  expect_refused("block text=\"unterminated", "1", "unterminated string");
  expect_refused("block text=/(/", "1", "bad regex");
  expect_refused("block text=\"\"", "1", "empty text pattern");
  expect_refused("block text=user", "1", "text= expects");
  expect_refused("block hard soft", "1", "both hard and soft");
  expect_refused("block colour=red", "1", "unknown condition");
  expect_refused("block fast", "1", "unknown word");
  expect_refused("block code=", "1", "has no value");
  expect_refused("block code=550,", "1", "empty item");
  expect_refused("spam text=\"x\"\n\n\n\nspam mx=.", "5", "bad mx");
}

TEST(BounceClassifier, FromFile) {
  const std::string path = ::testing::TempDir() + "bounce-rules-test.conf";
  {
    std::ofstream file(path, std::ios::binary);
    file << "# local rules\r\nspam text=\"zzz\"\r\n";
  }
  const BounceClassifier classifier = BounceClassifier::from_file(path);
  EXPECT_EQ(classifier.classify(550, "", "ZZZ").category, "spam");
  EXPECT_EQ(classifier.classify(550, "", "ZZZ").rule, "spam text=\"zzz\"");
  {
    std::ofstream file(path, std::ios::binary);
    file << "spam text=\"zzz\"\nnonsense\n";
  }
  try {
    (void)BounceClassifier::from_file(path);
    ADD_FAILURE() << "accepted a bad rules file";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(path + ": bounce rules line 2:"), std::string::npos) << error.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(BounceClassifier::from_file(path), std::runtime_error);
}

TEST(BounceClassifier, LongAndHostileTextsAreCheap) {
  const BounceClassifier classifier = BounceClassifier::defaults();
  const std::string huge(1 << 20, 'a');
  EXPECT_EQ(classifier.classify(550, "", huge).category, "generalfail");
  std::string spaced(100000, ' ');
  spaced += "user unknown";
  // Only the first 4 KB of the normalized text count; whitespace runs collapse before that.
  EXPECT_EQ(classifier.classify(550, "", spaced).category, "badrecipient");
  EXPECT_EQ(classifier.classify(550, "5.1.1.1", "x").category, "generalfail");
  EXPECT_EQ(classifier.classify(-1, "garbage", "").category, "other");
}

}  // namespace
