#pragma once
// The one place that decides how much access a principal has on a resource. Grants are inherited
// downward: a grant on an organization covers its accounts, an account grant covers everything in it.
#include <vector>

#include "accounts/model.h"

namespace postroom::accounts {

// `chain` is the resource followed by its ancestors up to the organization (see store/resource_store.h).
// Returns the highest level of any grant on the resource or an ancestor; 0 when none applies.
int effective_level(const std::vector<Grant>& grants, const std::vector<ResourceRef>& chain);

}  // namespace postroom::accounts
