// Every file of the shared MIME corpus parses without crashing; for the well-formed messages the summary
// (subject, From/To/Cc addresses, attachment filenames and decoded sizes) matches what Python's email package
// reports (tests/mime_expected.py is the oracle, run once per test binary).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "mime/message.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace postroom::mime;

namespace {

const fs::path kCorpus = fs::path(POSTROOM_SHARED_DIR) / "testdata" / "mime";

// Files whose summary legitimately differs from Python's, with the reason (relative to kCorpus). Kept in one
// file that the black-box corpus test reads too.
std::map<std::string, std::string> load_differences() {
  std::map<std::string, std::string> out;
  std::ifstream in(POSTROOM_DIFFERENCES_FILE);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    out.emplace(line.substr(0, tab), tab == std::string::npos ? "" : line.substr(tab + 1));
  }
  return out;
}
const std::map<std::string, std::string> kMalformed = load_differences();

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  if (!fs::exists(kCorpus)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

const json::object& python_summaries() {
  static const json::object summaries = [] {
    const std::string command = "python3 " + std::string(POSTROOM_MIME_EXPECTED_SCRIPT) + " '" + kCorpus.string() + "'";
    std::string output;
    if (FILE* pipe = popen(command.c_str(), "r")) {
      char buffer[65536];
      std::size_t read = 0;
      while ((read = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, read);
      pclose(pipe);
    }
    json::value parsed = json::parse(output);
    return parsed.as_object();
  }();
  return summaries;
}

std::vector<std::string> strings_of(const json::value& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const auto& item : value.as_array()) out.emplace_back(item.as_string());
  return out;
}

std::vector<std::string> emails_of(const std::vector<Address>& addresses) {
  std::vector<std::string> out;
  for (const Address& address : addresses) out.push_back(address.email);
  return out;
}

}  // namespace

TEST(MimeCorpus, EveryFileParsesWithoutCrashing) {
  const auto files = corpus_files();
  ASSERT_GT(files.size(), 50u) << "corpus missing under " << kCorpus;
  for (const fs::path& path : files) {
    const std::string raw = read_file(path);
    const ParsedMessage parsed = parse_message(raw);
    EXPECT_EQ(parsed.size, raw.size());
    for (const AttachmentInfo& attachment : parsed.attachments) {
      const auto content = attachment_content(raw, attachment.index);
      ASSERT_TRUE(content.has_value()) << path << " attachment " << attachment.index;
      EXPECT_EQ(content->size(), attachment.size) << path << " attachment " << attachment.index;
    }
    if (parsed.html_body) (void)sanitize_html_for_preview(*parsed.html_body);
  }
}

TEST(MimeCorpus, WellFormedMessagesMatchPythonEmail) {
  const json::object& expected_all = python_summaries();
  std::size_t compared = 0;
  for (const fs::path& path : corpus_files()) {
    if (path.extension() != ".raw") continue;  // .golden/.png are not whole messages
    const std::string relative = fs::relative(path, kCorpus).string();
    if (kMalformed.count(relative)) continue;
    const auto it = expected_all.find(path.string());
    ASSERT_NE(it, expected_all.end()) << relative;
    const json::object& expected = it->value().as_object();
    if (expected.contains("error") || !expected.at("from").is_array() || !expected.at("to").is_array() ||
        !expected.at("cc").is_array()) {
      ADD_FAILURE() << relative << ": Python could not summarize it; list it in kMalformed with a reason";
      continue;
    }
    SCOPED_TRACE(relative);
    const ParsedMessage parsed = parse_message(read_file(path));
    EXPECT_EQ(parsed.subject, std::string(expected.at("subject").as_string()));
    // ParsedMessage::from is the first From mailbox (a few messages list several).
    const std::vector<std::string> expected_from = strings_of(expected.at("from"));
    ASSERT_EQ(parsed.from.has_value(), !expected_from.empty());
    if (parsed.from) {
      EXPECT_EQ(parsed.from->email, expected_from.front());
    }
    EXPECT_EQ(emails_of(parsed.to), strings_of(expected.at("to")));
    EXPECT_EQ(emails_of(parsed.cc), strings_of(expected.at("cc")));
    const json::array& attachments = expected.at("attachments").as_array();
    ASSERT_EQ(parsed.attachments.size(), attachments.size());
    for (std::size_t i = 0; i < attachments.size(); ++i) {
      const json::object& attachment = attachments[i].as_object();
      EXPECT_EQ(parsed.attachments[i].filename, std::string(attachment.at("filename").as_string())) << i;
      if (!attachment.at("size").is_null()) {
        EXPECT_EQ(static_cast<std::int64_t>(parsed.attachments[i].size),
                  attachment.at("size").to_number<std::int64_t>())
            << i;
      }
    }
    ++compared;
  }
  EXPECT_GT(compared, 60u);
}

namespace {

// Every field of the summary, so two parses can be compared whole.
std::string describe(const ParsedMessage& m) {
  std::ostringstream out;
  const auto addresses = [&](const char* label, const std::vector<Address>& list) {
    out << label << ":";
    for (const Address& a : list) out << " [" << a.name << "|" << a.email << "]";
    out << "\n";
  };
  out << "from: " << (m.from ? m.from->name + "|" + m.from->email : "-") << "\n";
  addresses("to", m.to);
  addresses("cc", m.cc);
  addresses("bcc", m.bcc);
  addresses("reply_to", m.reply_to);
  addresses("sender", m.sender);
  out << "subject: " << m.subject << "\ndate: " << (m.date ? std::to_string(*m.date) : "-")
      << "\nmessage_id: " << m.message_id << "\nin_reply_to: " << m.in_reply_to << "\nx_mailer: " << m.x_mailer
      << "\nsize: " << m.size << "\ntext: " << (m.text_body ? *m.text_body : "-") << " (" << m.text_body_size
      << ")\nhtml: " << (m.html_body ? *m.html_body : "-") << " (" << m.html_body_size << ")\n";
  for (const AttachmentInfo& a : m.attachments)
    out << "attachment " << a.index << ": " << a.filename << "|" << a.content_type << "|" << a.content_id << "|"
        << a.disposition << "|" << a.transfer_encoding << "|" << a.size << "|" << (a.content ? *a.content : "-")
        << "\n";
  for (const Header& h : m.headers) out << "header: " << h.name << ": " << h.value << "\n";
  for (const std::string& p : m.problems) out << "problem: " << p << "\n";
  return out.str();
}

void expect_shortcut_changes_nothing(const std::string& raw, const std::string& label) {
  ParseOptions whole;
  whole.single_part_shortcut = false;
  whole.keep_attachment_content = true;
  ParseOptions shortcut = whole;
  shortcut.single_part_shortcut = true;
  EXPECT_EQ(describe(parse_message(raw, shortcut)), describe(parse_message(raw, whole))) << label;
}

std::string with_lf_endings(std::string raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i)
    if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')) out += raw[i];
  return out;
}

}  // namespace

// GMime reads only the header section of a single-part message with an identity transfer encoding and the body
// is taken as it is (ParseOptions::single_part_shortcut). The summary must be the one a whole parse gives, for
// every corpus file (and its LF-only form) and for single-part shapes the corpus has few of.
TEST(MimeCorpus, SinglePartShortcutGivesTheSameSummaryAsAWholeParse) {
  for (const fs::path& path : corpus_files()) {
    const std::string raw = read_file(path);
    expect_shortcut_changes_nothing(raw, path.string());
    expect_shortcut_changes_nothing(with_lf_endings(raw), path.string() + " (LF endings)");
  }
  const std::string head =
      "From: \"Ann Example\" <ann@example.com>\r\nTo: bob@example.com, Carl <carl@example.org>\r\n"
      "Subject: Hello\r\n  folded =?utf-8?q?w=C3=B6rld?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n"
      "Message-ID: <id-1@example.com>\r\n";
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"no MIME headers", head + "\r\nplain body\r\n"},
      {"text/plain 8bit latin-1", head + "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: "
                                         "8bit\r\n\r\ncaf\xe9\r\n"},
      {"text/html 7bit", head + "Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Hi</p>\r\n"},
      {"named binary part", head + "Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-"
                                   "Encoding: binary\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"
                                   "\x01\x02\r\n\x03"},
      {"boundary-like lines in a single part", head + "Content-Type: text/plain\r\n\r\n--b\r\nnot a part\r\n--b--\r\n"},
      {"multipart without boundary", head + "Content-Type: multipart/mixed\r\n\r\n--x\r\nbody\r\n"},
      {"quoted-printable", head + "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                                  "a=3Db=\r\nc\r\n"},
      {"unknown encoding", head + "Content-Transfer-Encoding: x-unknown\r\n\r\nbody\r\n"},
      {"line without a colon in the headers",
       "From: a@example.com\r\nnot a header line\r\nTo: b@example.com\r\n\r\n"
       "body\r\n"},
      {"8-bit header text", "From: J\xc3\xb6rg <j@example.com>\r\nSubject: gr\xfc\xdf\r\n\r\nbody\r\n"},
      {"empty body", head + "\r\n"},
      {"no blank line", head},
      {"blank first line", "\r\nFrom: a@example.com\r\n\r\nbody\r\n"},
      {"indented first line", "  From: a@example.com\r\n\r\nbody\r\n"},
      {"mbox From line", "From a@example.com Tue Dec  1 10:00:00 2026\r\nFrom: a@example.com\r\n\r\nbody\r\n"},
      {"message/rfc822", head + "Content-Type: message/rfc822\r\n\r\nFrom: inner@example.com\r\n\r\ninner\r\n"},
      {"duplicated Content-Type", head + "Content-Type: text/html\r\nContent-Type: text/plain\r\n\r\nbody\r\n"},
      {"bare CR line endings", "From: a@example.com\rTo: b@example.com\r\r\nbody\r\n"},
  };
  for (const auto& [label, raw] : shapes) {
    expect_shortcut_changes_nothing(raw, label);
    expect_shortcut_changes_nothing(with_lf_endings(raw), label + " (LF endings)");
  }
}
