#include "accounts/access_policy.h"

#include <algorithm>

namespace postroom::accounts {

int effective_level(const std::vector<Grant>& grants, const std::vector<ResourceRef>& chain) {
  int best = 0;
  for (const Grant& grant : grants) {
    if (std::find(chain.begin(), chain.end(), grant.resource) != chain.end()) best = std::max(best, grant.level);
  }
  return best;
}

}  // namespace postroom::accounts
