#pragma once
// Test databases for both backends. "sqlite" makes a fresh file in a temp dir; "postgres" creates a fresh
// database on the server named by POSTROOM_TEST_PG_URL (started by tests/pg.sh) and fails the test when that
// variable is missing, so a PostgreSQL run can never silently test nothing.
#include <memory>
#include <string>

#include "store/database.h"

namespace postroom::test_support {

std::unique_ptr<store::Database> make_database(const std::string& backend);
std::string temp_dir();  // a new empty directory

}  // namespace postroom::test_support
