#pragma once
// Text and transfer-encoding helpers shared by the parser, the builder and the send-request validator.
#include <string>
#include <string_view>

namespace postroom::mime::text {

std::string ascii_lower(std::string_view text);
std::string trim(std::string_view text);
std::string strip_angle_brackets(std::string_view text);
bool equals_ignore_case(std::string_view a, std::string_view b);
bool is_ascii(std::string_view text);
bool is_valid_utf8(std::string_view text);
// Invalid UTF-8 sequences become U+FFFD.
std::string to_valid_utf8(std::string_view text);
// & < > " ' as HTML entities, for text put into HTML we write.
std::string escape_html(std::string_view text);
// Control characters (other than tab) escaped as \xNN, for problem messages.
std::string printable(std::string_view text);
// Decodes bytes in `charset` (empty: undeclared) to UTF-8. Undeclared text that is not UTF-8 is read as
// windows-1252. `converted` becomes false when the charset was unknown or the bytes did not fit it.
std::string to_utf8(std::string_view bytes, std::string_view charset, bool* converted = nullptr);

// Base64 with CRLF line breaks every 76 characters (RFC 2045); no trailing line break.
std::string base64_encode_lines(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// Strict decoding for API input: padding required when the length is not a multiple of 4, whitespace
// (CR, LF, space, tab) ignored. Returns false on any other character or misplaced padding.
bool base64_decode(std::string_view text, std::string& out);
// Lenient decoding for received mail: characters outside the alphabet are skipped, padding ends a quantum,
// and a trailing incomplete quantum still yields its whole bytes.
std::string base64_decode_lenient(std::string_view text);
// Quoted-printable (RFC 2045) of text whose line ends are LF or CRLF; output lines end in CRLF, ≤ 76 chars.
std::string quoted_printable_encode(std::string_view text);

// RFC 2047 encoded-words (UTF-8, base64) for an unstructured header value, folded into words that keep each
// encoded-word ≤ 75 characters; returns the text unchanged when it is printable ASCII.
std::string encode_header_text(std::string_view utf8);
// A display name as a quoted-string, an atom sequence, or encoded-words.
std::string encode_display_name(std::string_view utf8);

}  // namespace postroom::mime::text
