// Storage behaviour, run against SQLite and PostgreSQL alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "core/compression.h"
#include "sandbox/search.h"
#include "store/accounts_store.h"
#include "store/database.h"
#include "store/messages_store.h"
#include "store/migrations.h"
#include "store/search_text.h"
#include "store/sqlite/fts_tokenizer.h"
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

// ---- SQLite's search index: contentless FTS5 plus the packed text its delete trigger gives back.

namespace {

// An account with one inbox (raw rows: the schema may be older than the stores' queries).
std::pair<std::int64_t, std::int64_t> account_and_inbox(Tx& tx) {
  const auto org =
      tx.query_one("INSERT INTO organizations (name, created_at) VALUES ('O', 1) RETURNING id")->integer(0);
  const auto account =
      tx.query_one("INSERT INTO accounts (organization_id, name, created_at) VALUES (?, 'A', 1) RETURNING id", {org})
          ->integer(0);
  const auto project =
      tx.query_one("INSERT INTO projects (account_id, name, created_at) VALUES (?, 'P', 1) RETURNING id", {account})
          ->integer(0);
  const auto inbox = tx.query_one(
                           "INSERT INTO inboxes (project_id, account_id, name, smtp_username, smtp_password, "
                           "created_at) VALUES (?, ?, 'I', 'u', 'p', 1) RETURNING id",
                           {project, account})
                         ->integer(0);
  return {account, inbox};
}

std::int64_t add_message_row(Tx& tx, std::int64_t account, std::int64_t inbox, const std::string& subject) {
  return tx
      .query_one(
          "INSERT INTO sandbox_messages (inbox_id, account_id, subject, from_email, from_name, to_email, to_name, "
          "recipients_json, headers_json, smtp_json, message_id_header, sent_at, created_at, updated_at, email_size, "
          "raw_zstd) VALUES (?, ?, ?, 'a@x', '', 'b@y', '', '{}', '[]', '{}', '', 1, 1, 1, 10, ?) RETURNING id",
          {inbox, account, subject, Blob{"raw"}})
      ->integer(0);
}

std::int64_t matches(Database& db, const std::string& query) {
  return db.read([&](Tx& tx) {
    return tx.query_one("SELECT COUNT(*) FROM sandbox_messages_words WHERE sandbox_messages_words MATCH ?", {query})
        ->integer(0);
  });
}

// The ids a sandbox search finds, oldest first.
std::vector<std::int64_t> found(Database& db, std::int64_t account, std::int64_t inbox, const std::string& search) {
  return db.read([&](Tx& tx) {
    std::vector<std::int64_t> ids;
    for (const auto& m : MessagesStore(tx).list(account, inbox, sandbox::parse_search(search), std::nullopt,
                                                std::nullopt, 1000, 0, /*oldest_first=*/true))
      ids.push_back(m.id);
    return ids;
  });
}

}  // namespace

TEST(SqliteSearchIndex, PackedTextRoundTripsAndRejectsOtherBytes) {
  const std::string body(20000, 'x');
  const auto unpacked = unpack_search_text(pack_search_text("Subject: caf\xc3\xa9", body));
  ASSERT_TRUE(unpacked);
  EXPECT_EQ(unpacked->first, "Subject: caf\xc3\xa9");
  EXPECT_EQ(unpacked->second, body);
  const auto empty = unpack_search_text(pack_search_text("", ""));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->first.empty() && empty->second.empty());
  const std::string packed = pack_search_text("h", body);
  EXPECT_LT(packed.size(), 200u) << "compressed";
  std::string lying_size = packed;
  lying_size[1] = static_cast<char>(lying_size[1] + 1);  // one byte more than the block holds
  EXPECT_FALSE(unpack_search_text(lying_size));
  EXPECT_FALSE(unpack_search_text(packed.substr(0, packed.size() - 3)));                     // truncated
  EXPECT_FALSE(unpack_search_text(std::string("L\xff\xff\xff\xff", 5) + packed.substr(5)));  // claims 4 GiB
  EXPECT_FALSE(unpack_search_text("not zstd"));
  EXPECT_FALSE(unpack_search_text(zstd_compress("ab")));   // shorter than the length prefix
  const std::string lying("\xff\xff\x00\x00headers", 11);  // claims 65,535 header bytes
  EXPECT_FALSE(unpack_search_text(zstd_compress(lying)));
}

TEST(SqliteSearchIndex, DeletingAMessageInAnyWayTakesItsWordsOutOfTheIndex) {
  auto db = test_support::make_database("sqlite");
  const auto ids_of_tenant = db->write([](Tx& tx) { return account_and_inbox(tx); });
  const std::int64_t account = ids_of_tenant.first, inbox = ids_of_tenant.second;  // lambdas capture these
  std::vector<std::int64_t> ids;
  db->write([&](Tx& tx) {
    for (const char* word : {"alpha", "bravo", "charlie", "delta"}) {
      const auto id = add_message_row(tx, account, inbox, word);
      MessagesStore(tx).index(id, {word, "a@x b@y", "X-Word: " + std::string(word), std::string("body ") + word, {}});
      ids.push_back(id);
    }
  });
  EXPECT_EQ(matches(*db, "body"), 4);
  EXPECT_EQ(matches(*db, "word"), 4) << "headers are indexed";
  // One message deleted, the oldest evicted, then the whole account (the cascade its delete always had).
  db->write([&](Tx& tx) { EXPECT_TRUE(MessagesStore(tx).remove(account, inbox, ids[1])); });
  EXPECT_EQ(matches(*db, "bravo"), 0);
  EXPECT_EQ(matches(*db, "body"), 3);
  db->write([&](Tx& tx) { EXPECT_EQ(MessagesStore(tx).evict_beyond(inbox, 2, 3), std::vector{ids[0]}); });
  EXPECT_EQ(matches(*db, "alpha"), 0);
  EXPECT_EQ(matches(*db, "charlie OR delta"), 2);
  db->write([&](Tx& tx) { tx.execute("DELETE FROM accounts WHERE id = ?", {account}); });
  EXPECT_EQ(matches(*db, "body"), 0);
  EXPECT_EQ(db->read([](Tx& tx) { return tx.query_one("SELECT COUNT(*) FROM sandbox_messages_search")->integer(0); }),
            0);
  db->write([](Tx& tx) {
    tx.execute("INSERT INTO sandbox_messages_words (sandbox_messages_words) VALUES ('integrity-check')");
  });
}

// The index keeps no word positions (migration 11): a phrase is its words in a row within one column, checked
// on the packed text.
TEST(SqliteSearchIndex, APhraseIsItsWordsInARowWithinOneColumn) {
  auto db = test_support::make_database("sqlite");
  const auto tenant = db->write([](Tx& tx) { return account_and_inbox(tx); });
  const std::int64_t account = tenant.first, inbox = tenant.second;
  struct Text {
    const char* subject;
    const char* addresses;
    const char* headers;
    const char* body;
  };
  const std::vector<Text> texts = {
      {"Lunch", "a@x", "X-Note: none", "meet at the blue door, then turn left"},  // in the body, across a comma
      {"The blue", "door@y", "X-Note: none", "nothing"},                          // the words in two columns
      {"Door blue", "a@x", "X-Note: none", "door. blue"},                         // the other order
      {"Caf\xc3\xa9 au lait", "a@x", "X-Tag: BLUE  Door", "x"},                   // in the headers; an accent
  };
  std::vector<std::int64_t> ids;
  db->write([&](Tx& tx) {
    for (const Text& t : texts) {
      const auto id = add_message_row(tx, account, inbox, t.subject);
      MessagesStore(tx).index(id, {t.subject, t.addresses, t.headers, t.body, {}});
      ids.push_back(id);
    }
  });
  auto expect = [&](const std::string& search, const std::vector<int>& which) {
    std::vector<std::int64_t> expected;
    for (const int i : which) expected.push_back(ids[static_cast<std::size_t>(i)]);
    EXPECT_EQ(found(*db, account, inbox, search), expected) << search;
  };
  expect("\"blue door\"", {0, 3});
  expect("\"Blue Door\"", {0, 3});
  expect("\"door blue\"", {2});
  expect("door-blue", {2});  // one term of two words: split as the index splits
  expect("\"cafe au lait\"", {3});
  expect("\"lait au\"", {});
  expect("\"the blue door then\"", {0});
  expect("\"turn left\"", {0});
  expect("blue", {0, 1, 2, 3});  // one word: every message holding it
  expect("-\"blue door\"", {1, 2});
  expect("\"blue door\" -lunch", {3});
  expect("\"...\"", {});  // no words
  // Text that cannot be unpacked holds no phrase, and the search does not fail.
  db->write([&](Tx& tx) {
    tx.execute("UPDATE sandbox_messages_search SET text_packed = X'4c00' WHERE message_id = ?", {ids[0]});
  });
  expect("\"blue door\"", {3});
  expect("meet", {0});  // its words are still indexed
}

// Random texts and phrases: the phrase check finds what FTS5's own phrase queries find in an index with word
// positions (detail=full, the same tokenizer).
TEST(SqliteSearchIndex, PhrasesFindWhatAnIndexWithPositionsFinds) {
  auto db = test_support::make_database("sqlite");
  const auto tenant = db->write([](Tx& tx) { return account_and_inbox(tx); });
  const std::int64_t account = tenant.first, inbox = tenant.second;
  // No word is part of another, so a LIKE match on the subject is also a phrase match.
  const std::vector<std::string> words = {"blue",
                                          "BLUE",
                                          "door",
                                          "Door",
                                          "cafe",
                                          "caf\xc3\xa9",
                                          "lait",
                                          "ox",
                                          "zeta",
                                          "\xc3\x9f"
                                          "ig",
                                          "n\xc3\xa4me"};
  const std::vector<std::string> separators = {" ", ", ", "-", "\r\n", ".", " \xe2\x80\x94 ", "\t"};
  std::mt19937 random(20261124);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  auto text_of = [&](int count) {
    std::string text = pick(words);
    for (int i = 1; i < count; ++i) text += pick(separators) + pick(words);
    return text;
  };
  db->write([&](Tx& tx) {
    tx.execute("CREATE VIRTUAL TABLE reference USING fts5(subject, addresses, headers, body, tokenize='" +
               std::string(kFastTokenizerName) + " remove_diacritics 2')");
    for (int m = 0; m < 150; ++m) {
      const std::string subject = text_of(3), addresses = text_of(2), headers = text_of(6), body = text_of(40);
      const auto id = add_message_row(tx, account, inbox, subject);
      MessagesStore(tx).index(id, {subject, addresses, headers, body, {}});
      tx.execute("INSERT INTO reference (rowid, subject, addresses, headers, body) VALUES (?, ?, ?, ?, ?)",
                 {id, subject, addresses, headers, body});
    }
  });
  int phrases_found = 0;
  for (int q = 0; q < 300; ++q) {
    const std::string phrase = text_of(2 + static_cast<int>(random() % 3));
    const auto expected = db->read([&](Tx& tx) {
      std::vector<std::int64_t> ids;
      for (const Row& row :
           tx.query("SELECT rowid FROM reference WHERE reference MATCH ? ORDER BY rowid", {"\"" + phrase + "\""}))
        ids.push_back(row.integer(0));
      return ids;
    });
    EXPECT_EQ(found(*db, account, inbox, "\"" + phrase + "\""), expected) << phrase;
    phrases_found += !expected.empty();
  }
  EXPECT_GT(phrases_found, 100) << "the phrases are found in some messages, not none";
}

// Rows packed with zstd before migration 10 are still read: deleting their message takes their words out.
TEST(SqliteSearchIndex, TextPackedWithZstdBeforeLz4IsStillRemovedFromTheIndex) {
  const std::string path = test_support::temp_dir() + "/zstd.db";
  {
    auto db = open_sqlite(path, {});
    migrate_up_to(*db, 9);
    db->write([](Tx& tx) {
      const auto [account, inbox] = account_and_inbox(tx);
      for (const char* word : {"alpha", "bravo"}) {
        const auto id = add_message_row(tx, account, inbox, word);
        const std::string headers = "X-Old: yes", text = "old body " + std::string(word);
        std::string plain;  // what migration 9's pack_search_text compressed with zstd
        for (int shift = 0; shift < 32; shift += 8)
          plain.push_back(static_cast<char>((headers.size() >> shift) & 0xFF));
        plain += headers + text;
        tx.execute(
            "INSERT INTO sandbox_messages_search (message_id, subject, addresses, text_zstd) VALUES (?, ?, ?, ?)",
            {id, std::string(word), std::string("a@x"), Blob{zstd_compress(plain, 1)}});
        tx.execute(
            "INSERT INTO sandbox_messages_words (rowid, subject, addresses, headers, body) VALUES (?, ?, ?, ?, ?)",
            {id, std::string(word), std::string("a@x"), headers, text});
      }
    });
  }
  auto db = open_database("sqlite:" + path);  // applies migrations 10 and 11
  EXPECT_EQ(schema_version(*db), 11);
  EXPECT_EQ(matches(*db, "old"), 2);
  // Migration 11 rebuilt the index without positions from the zstd-packed text, which phrases are checked on.
  EXPECT_NE(db->read([](Tx& tx) {
                return tx.query_one("SELECT sql FROM sqlite_master WHERE name = 'sandbox_messages_words'")->text(0);
              }).find("detail=none"),
            std::string::npos);
  const auto tenant = db->read([](Tx& tx) {
    const auto row = tx.query_one("SELECT account_id, inbox_id FROM sandbox_messages LIMIT 1");
    return std::pair{row->integer(0), row->integer(1)};
  });
  EXPECT_EQ(found(*db, tenant.first, tenant.second, "\"old body bravo\"").size(), 1u);
  EXPECT_EQ(found(*db, tenant.first, tenant.second, "\"body old\"").size(), 0u);
  db->write([](Tx& tx) { tx.execute("DELETE FROM sandbox_messages WHERE subject = 'bravo'"); });
  EXPECT_EQ(matches(*db, "bravo"), 0);
  EXPECT_EQ(matches(*db, "old"), 1);
  db->write([](Tx& tx) {
    tx.execute("INSERT INTO sandbox_messages_words (sandbox_messages_words) VALUES ('integrity-check')");
  });
}

TEST(SqliteSearchIndex, TheMigrationMovesTheOldIndexOfLiveMessagesAndTheTriggerWorksOnIt) {
  const std::string path = test_support::temp_dir() + "/old.db";
  {
    auto db = open_sqlite(path, {});
    migrate_up_to(*db, 8);
    db->write([](Tx& tx) {
      const auto [account, inbox] = account_and_inbox(tx);
      for (const char* word : {"alpha", "bravo", "orphan"}) {
        const auto id = add_message_row(tx, account, inbox, word);
        tx.execute(
            "INSERT INTO sandbox_messages_fts (rowid, subject, addresses, headers, body) VALUES (?, ?, ?, ?, ?)",
            {id, std::string(word), std::string("a@x"), std::string("X-Old: yes"), "old body " + std::string(word)});
      }
      // Left by an account deletion before this migration: a search row whose message is gone.
      tx.execute("DELETE FROM sandbox_messages WHERE subject = 'orphan'");
    });
  }
  auto db = open_database("sqlite:" + path);  // applies migrations 9, 10 and 11
  EXPECT_EQ(schema_version(*db), 11);
  EXPECT_EQ(matches(*db, "old"), 2) << "the orphan's words are not carried over";
  EXPECT_EQ(matches(*db, "bravo"), 1);
  EXPECT_EQ(matches(*db, "yes"), 2);
  db->write([](Tx& tx) { tx.execute("DELETE FROM sandbox_messages WHERE subject = 'bravo'"); });
  EXPECT_EQ(matches(*db, "bravo"), 0);
  EXPECT_EQ(matches(*db, "old"), 1);
  EXPECT_FALSE(db->read([](Tx& tx) {
    return tx.query_one("SELECT 1 FROM sqlite_master WHERE name = 'sandbox_messages_fts'").has_value();
  }));
}
