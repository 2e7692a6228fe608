#pragma once
// JSON shapes shared by several account resources.
#include "accounts/model.h"
#include "http/json.h"

namespace postroom::http::api {

// [{"resource_type","resource_id","access_level"}]
json::array grants_json(const std::vector<accounts::Grant>& grants);

}  // namespace postroom::http::api
