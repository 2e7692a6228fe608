#include "accounts/model.h"

namespace postroom::accounts {

std::string_view to_string(ResourceType type) {
  switch (type) {
    case ResourceType::organization:
      return "organization";
    case ResourceType::account:
      return "account";
    case ResourceType::billing:
      return "billing";
    case ResourceType::project:
      return "project";
    case ResourceType::inbox:
      return "inbox";
    case ResourceType::sending_domain:
      return "sending_domain";
    case ResourceType::email_template:
      return "email_template_permission_scope";
    case ResourceType::email_campaign:
      return "email_campaign_permission_scope";
  }
  return "account";
}

std::optional<ResourceType> parse_resource_type(std::string_view name) {
  if (name == "organization") return ResourceType::organization;
  if (name == "account") return ResourceType::account;
  if (name == "billing") return ResourceType::billing;
  if (name == "project") return ResourceType::project;
  if (name == "inbox" || name == "sandbox") return ResourceType::inbox;
  if (name == "sending_domain" || name == "domain" || name == "mailsend_domain") return ResourceType::sending_domain;
  if (name == "email_template_permission_scope" || name == "email_template") return ResourceType::email_template;
  if (name == "email_campaign_permission_scope" || name == "email_campaign") return ResourceType::email_campaign;
  return std::nullopt;
}

}  // namespace postroom::accounts
