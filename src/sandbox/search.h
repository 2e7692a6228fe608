#pragma once
// The sandbox search syntax. Plain words match Mailtrap's way (case-insensitive, in the subject, the To address
// or the To name) and also the full text of headers and bodies. Operators narrow it:
//   from:alice  to:bob@example.com  subject:invoice  has:attachment  is:unread  is:read
//   "an exact phrase"   -word (negation, also -from:x)
// Terms are ANDed. Unknown operators are searched as plain text.
#include <string_view>

#include "sandbox/model.h"

namespace postroom::sandbox {

SearchQuery parse_search(std::string_view text);

}  // namespace postroom::sandbox
