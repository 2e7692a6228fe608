#pragma once
// Pure parsing of SMTP command lines (RFC 5321 4.1): the verb, MAIL/RCPT paths with their ESMTP parameters,
// and address syntax. No state, no I/O; the session decides what a command means now.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/backend.h"

namespace postroom::smtp {

enum class Verb { helo, ehlo, mail, rcpt, data, rset, noop, quit, vrfy, expn, help, starttls, auth, http, unknown };

struct Command {
  Verb verb = Verb::unknown;
  std::string_view argument;  // after the verb and one or more spaces, trailing spaces removed
};

// `line` excludes the line ending. Verbs are case-insensitive. A line that looks like an HTTP request
// ("GET / HTTP/1.1", "POST …") is Verb::http, so the session can drop cross-protocol attacks.
Command parse_command(std::string_view line);

struct Parameter {
  std::string keyword;  // uppercase
  std::optional<std::string> value;
};

enum class PathError { none, syntax, address, parameter };

struct PathArgument {
  PathError error = PathError::none;
  Address address;          // empty for the null reverse path "<>"
  bool null_path = false;   // "<>" (only valid for MAIL)
  bool postmaster = false;  // "<postmaster>" without a domain (only valid for RCPT)
  bool non_ascii = false;   // the address needs SMTPUTF8
  std::vector<Parameter> params;
};

// Parses "FROM:<path> [params]" (keyword "FROM") or "TO:<path> [params]" (keyword "TO"). Tolerates a space
// after the colon and a path without angle brackets. Source routes ("<@a,@b:u@d>") are accepted and dropped.
PathArgument parse_path_argument(std::string_view argument, std::string_view keyword);

// Mailbox syntax (local@domain): dot-atom or quoted local part up to 64 octets, a domain name or an address
// literal. Octets >= 0x80 are allowed when they form valid UTF-8 (SMTPUTF8); `non_ascii` reports them.
std::optional<Address> parse_mailbox(std::string_view text, bool* non_ascii = nullptr);

// RFC 3461 xtext ("+XX" escapes) check, for AUTH= values.
bool valid_xtext(std::string_view text);

bool valid_utf8(std::string_view text);

}  // namespace postroom::smtp
