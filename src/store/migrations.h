#pragma once
// Schema migrations beyond migrate() (store/database.h): a test of one migration starts from the schema before it.
#include "store/database.h"

namespace postroom::store {

// Applies the pending migrations up to and including `version`. Returns the number applied.
int migrate_up_to(Database& db, int version);

}  // namespace postroom::store
