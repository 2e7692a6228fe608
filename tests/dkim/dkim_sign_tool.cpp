// Signs a fixed set of messages with fresh RSA-2048 and Ed25519 keys for test_dkim_verify.py:
//   dkim_sign_tool OUTDIR
// writes OUTDIR/keys.tsv (selector TAB TXT value) and OUTDIR/<case>.<selector>.eml (signature + message), plus
// <case>.dual.eml signed by both keys.
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "dkim/dkim.h"

using postroom::dkim::SigningKey;
using postroom::dkim::SignOptions;

namespace {

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\r\n";
    else
      out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> messages() {
  std::vector<std::pair<std::string, std::string>> m;
  const std::string head =
      "From: Sender <sender@example.test>\nTo: Rcpt <rcpt@example.net>\nSubject: Hello\n"
      "Date: Mon, 23 Nov 2026 01:00:00 +0000\nMessage-ID: <1@example.test>\nMIME-Version: 1.0\n";
  m.emplace_back("plain", crlf(head + "Content-Type: text/plain; charset=us-ascii\n\nHello there.\n\nBye.\n"));
  m.emplace_back("utf8", crlf(head + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                     "Grüße aus Köln – 東京 🚀\n  indented  line\twith\ttabs  \n"));
  std::string subject = "Subject: =?utf-8?q?long?=";
  for (int i = 0; i < 60; ++i) subject += "\n\tword" + std::to_string(i) + "   and  more   text";
  std::string to = "To: ";
  for (int i = 0; i < 80; ++i) to += (i ? ",\n " : "") + std::string("user") + std::to_string(i) + "@example.net";
  std::string long_value = "X-Long: ";
  long_value += std::string(900, 'x');
  m.emplace_back("long_headers",
                 crlf("From: sender@example.test\n" + to + "\n" + subject + "\n" + long_value +
                      "\nList-Unsubscribe: <https://example.test/u/1>,\n <mailto:u@example.test>\n"
                      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\nDate: Mon, 23 Nov 2026 01:00:00 +0000\n"
                      "\nbody\n"));
  m.emplace_back("empty_body", crlf(head + "\n"));
  m.emplace_back("trailing_blank_lines", crlf(head + "\nText\n\n\n  \n\t\n\n"));
  m.emplace_back("multipart",
                 crlf(head + "Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\n"
                             "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nplain ü\n"
                             "--b1\nContent-Type: text/html; charset=utf-8\n\n<p>html &uuml;</p>\n--b1--\n"));
  m.emplace_back("lf_only", head + "Subject: second subject\n\nLF only\nlines  \n\n");
  m.emplace_back("no_final_newline", crlf(head + "\nno newline at the end"));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dkim_sign_tool OUTDIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<std::pair<std::string, SigningKey>> keys = {{"rsa1", SigningKey::generate_rsa(2048)},
                                                                {"ed1", SigningKey::generate_ed25519()}};
  std::ofstream tsv(dir + "/keys.tsv");
  for (const auto& k : keys) tsv << k.first << '\t' << k.second.dns_txt_value() << '\n';
  for (const auto& msg : messages()) {
    std::string dual = msg.second;
    for (const auto& k : keys) {
      SignOptions o;
      o.domain = "example.test";
      o.selector = k.first;
      o.expire_after = std::chrono::seconds(86400);
      const std::string sig = postroom::dkim::sign(msg.second, k.second, o);
      std::ofstream(dir + "/" + msg.first + "." + k.first + ".eml", std::ios::binary) << sig << msg.second;
      dual = sig + dual;
    }
    std::ofstream(dir + "/" + msg.first + ".dual.eml", std::ios::binary) << dual;
  }
  return 0;
}
