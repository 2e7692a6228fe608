#pragma once
// A captured message's technical information (the "Tech Info" tab): its identifying headers, the Bcc recipients
// seen only in the SMTP envelope, the SMTP transaction, the template it was sent with, and whether its
// List-Unsubscribe / List-Unsubscribe-Post headers are valid (RFC 2369) and one-click ready (RFC 8058).
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/model.h"

namespace postroom::sandbox {

struct ListUnsubscribeCheck {
  bool present = false;                 // a List-Unsubscribe header exists
  std::vector<std::string> https_uris;  // http(s) URIs in the header
  std::vector<std::string> mailto_uris;
  std::string post;                   // the List-Unsubscribe-Post value, as written
  bool one_click = false;             // RFC 8058: POST header right, an https URI, both headers covered by DKIM
  std::vector<std::string> problems;  // what is wrong or missing, in words
};

// `list_unsubscribe` / `list_unsubscribe_post`: the header values (empty when absent); `dkim_signatures`: every
// DKIM-Signature value (only their h= tags are read; signatures are not verified here).
ListUnsubscribeCheck check_list_unsubscribe(std::string_view list_unsubscribe, std::string_view list_unsubscribe_post,
                                            const std::vector<std::string>& dkim_signatures);

// {"headers":{message_id,x_mailer,sender,from,to,cc,reply_to,return_path,date — only those present},
//  "bcc":[…] or "bcc_note", "smtp":{…} or null, "template":{id,variables} or null, "list_unsubscribe":{…}}
boost::json::object tech_info_json(const MessageSummary& message);

}  // namespace postroom::sandbox
