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
