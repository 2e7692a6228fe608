#include "http/api/serialize.h"

namespace postroom::http::api {

json::array grants_json(const std::vector<accounts::Grant>& grants) {
  json::array out;
  for (const accounts::Grant& grant : grants) {
    out.push_back({{"resource_type", std::string(accounts::to_string(grant.resource.type))},
                   {"resource_id", grant.resource.id},
                   {"access_level", grant.level}});
  }
  return out;
}

}  // namespace postroom::http::api
