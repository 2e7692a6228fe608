// Storage behaviour, run against SQLite and PostgreSQL alike.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/accounts_store.h"
#include "store/database.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::store;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { db = test_support::make_database(GetParam()); }
  std::unique_ptr<Database> db;
};

TEST_P(StoreTest, MigrationsAreAppliedOnceAndVersioned) {
  EXPECT_GE(schema_version(*db), 1);
  EXPECT_EQ(migrate(*db), 0) << "a second run applies nothing";
}

TEST_P(StoreTest, WritesAreVisibleToLaterReads) {
  const auto id = db->write([](Tx& tx) { return OrganizationStore(tx).create("Acme", 100); });
  const auto org = db->read([&](Tx& tx) { return OrganizationStore(tx).find(id); });
  ASSERT_TRUE(org);
  EXPECT_EQ(org->name, "Acme");
}

TEST_P(StoreTest, AFailingWriteChangesNothing) {
  EXPECT_THROW(db->write([](Tx& tx) {
    OrganizationStore(tx).create("Half", 1);
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query("SELECT id FROM organizations").size(); }), 0u);
}

TEST_P(StoreTest, ConstraintViolationsAreErrorsNotPartialWrites) {
  db->write([](Tx& tx) { UserStore(tx).create("a@example.test", "A", std::nullopt, 1); });
  EXPECT_THROW(db->write([](Tx& tx) {
    OrganizationStore(tx).create("Side effect", 1);
    UserStore(tx).create("a@example.test", "Duplicate", std::nullopt, 1);
  }),
               std::exception);
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query("SELECT id FROM organizations").size(); }), 0u);
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query("SELECT id FROM users").size(); }), 1u);
}

TEST_P(StoreTest, ConcurrentWritersAllCommitAndFailuresStayIsolated) {
  constexpr int kThreads = 32, kPerThread = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          db->write([&](Tx& tx) {
            OrganizationStore(tx).create("org-" + std::to_string(t) + "-" + std::to_string(i), 1);
            if (i == 3) throw std::runtime_error("this job fails");
          });
        } catch (const std::runtime_error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), kThreads);
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query("SELECT id FROM organizations").size(); }),
            static_cast<std::size_t>(kThreads * (kPerThread - 1)));
  const StorageStats stats = db->stats();
  EXPECT_GE(stats.write_jobs, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(stats.write_commits, stats.write_jobs);
  if (GetParam() == "sqlite") {
    EXPECT_LT(stats.write_commits, stats.write_jobs) << "group commit shares transactions";
  }
}

TEST_P(StoreTest, BinaryAndTextValuesRoundTrip) {
  const std::string bytes("\0\x01\xff\x80zstd", 8);
  const std::string text = "Grüße \xf0\x9f\x93\xa8 'quoted' ?";
  db->write([&](Tx& tx) {
    tx.execute("CREATE TABLE blobs (id BIGINT PRIMARY KEY, data " +
               std::string(tx.dialect() == Dialect::sqlite ? "BLOB" : "BYTEA") + ", note TEXT)");
    tx.execute("INSERT INTO blobs (id, data, note) VALUES (?, ?, ?)", {std::int64_t{1}, Blob{bytes}, text});
  });
  const auto row =
      db->read([](Tx& tx) { return tx.query_one("SELECT data, note FROM blobs WHERE id = ?", {std::int64_t{1}}); });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->text(0), bytes);
  EXPECT_EQ(row->text(1), text);
}

TEST_P(StoreTest, TokensAreScopedToTheirAccount) {
  const auto [a, b, token] = db->write([](Tx& tx) {
    const auto org = OrganizationStore(tx).create("Org", 1);
    const auto a = AccountStore(tx).create(org, "A", 1);
    const auto b = AccountStore(tx).create(org, "B", 1);
    const auto token = ApiTokenStore(tx).create(a, "t", "hash-a", "abcd", "test", std::nullopt, 1);
    return std::tuple{a, b, token};
  });
  db->read([&, a = a, b = b, token = token](Tx& tx) {
    EXPECT_TRUE(ApiTokenStore(tx).find(a, token));
    EXPECT_FALSE(ApiTokenStore(tx).find(b, token)) << "another account's token must not be found";
    EXPECT_TRUE(ApiTokenStore(tx).list(b).empty());
    std::string stored;
    EXPECT_TRUE(ApiTokenStore(tx).find_by_hash("hash-a", stored));
    EXPECT_EQ(stored, "hash-a");
  });
}

TEST_P(StoreTest, UsageCountersAccumulatePerPeriod) {
  const auto account = db->write([](Tx& tx) {
    const auto org = OrganizationStore(tx).create("Org", 1);
    return AccountStore(tx).create(org, "A", 1);
  });
  db->write([&](Tx& tx) {
    UsageStore(tx).increment(account, "testing.sent_messages", 100, 2);
    UsageStore(tx).increment(account, "testing.sent_messages", 100, 3);
    UsageStore(tx).increment(account, "testing.sent_messages", 200, 1);
  });
  db->read([&](Tx& tx) {
    EXPECT_EQ(UsageStore(tx).get(account, "testing.sent_messages", 100), 5);
    EXPECT_EQ(UsageStore(tx).get(account, "testing.sent_messages", 200), 1);
    EXPECT_EQ(UsageStore(tx).get(account, "sending.sent_messages", 100), 0);
  });
}

TEST_P(StoreTest, ResourceChainsReachTheOrganization) {
  const auto ids = db->write([](Tx& tx) {
    const auto org = OrganizationStore(tx).create("Org", 1);
    const auto account = AccountStore(tx).create(org, "A", 1);
    const auto project = SandboxStore(tx).create_project(account, "P", 1);
    const auto inbox = SandboxStore(tx).create_inbox(account, project, "I", "user-" + std::to_string(account), "pw", 1);
    return std::array<std::int64_t, 4>{org, account, project, inbox};
  });
  using accounts::ResourceType;
  db->read([&](Tx& tx) {
    const auto chain = ResourceStore(tx).chain({ResourceType::inbox, ids[3]});
    ASSERT_EQ(chain.size(), 4u);
    EXPECT_EQ(chain[1], (accounts::ResourceRef{ResourceType::project, ids[2]}));
    EXPECT_EQ(chain[2], (accounts::ResourceRef{ResourceType::account, ids[1]}));
    EXPECT_EQ(chain[3], (accounts::ResourceRef{ResourceType::organization, ids[0]}));
    EXPECT_TRUE(ResourceStore(tx).chain({ResourceType::inbox, 999999}).empty());
    EXPECT_EQ(ResourceStore(tx).chain({ResourceType::billing, ids[1]}).size(), 3u);
  });
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::Values("postgres"));

TEST(StoreSnapshots, NestedReadsShareOneSnapshot) {
  auto db = test_support::make_database("sqlite");
  db->read([&](Tx& outer) {
    outer.query("SELECT id FROM organizations");  // the snapshot starts with the first read
    db->read([&](Tx& inner) { EXPECT_EQ(&outer, &inner); });
    const auto id = db->write([](Tx& tx) { return OrganizationStore(tx).create("Later", 1); });
    // The outer snapshot predates the write; a fresh read after it sees the row.
    EXPECT_FALSE(db->read([&](Tx& tx) { return OrganizationStore(tx).find(id).has_value(); }));
  });
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query("SELECT id FROM organizations").size(); }), 1u);
}
