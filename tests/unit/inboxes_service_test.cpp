// Email Sandbox projects and inboxes through the service, against SQLite and PostgreSQL.
#include "sandbox/inboxes.h"

#include <gtest/gtest.h>

#include <regex>

#include "accounts/service.h"
#include "core/errors.h"
#include "store/messages_store.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::sandbox;
using accounts::Principal;

class InboxesServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    admin = *accounts->authenticate(boot.api_token);
    config.sandbox_smtp = "127.0.0.1:2525,127.0.0.1:587";
    config.sandbox.sandboxes_smtp_tls = "127.0.0.1:465";
    config.sandbox.email_domain = "inbox.example.test";
    config.sandbox.max_messages = 321;
    config.sandbox.max_message_size = 654321;
    config.public_url = "https://postroom.example.test:8443/";
    service = std::make_unique<InboxesService>(*db, clock, config);
  }

  // A principal holding only `grants` (a fresh API token's).
  Principal principal_with(const std::vector<accounts::GrantInput>& grants) {
    accounts::TokenRequest request;
    request.name = "limited";
    request.resources = grants;
    return *accounts->authenticate(accounts->create_token(admin, boot.account_id, request).secret);
  }

  // Stores a captured message directly (capture itself is another module's job).
  std::int64_t add_message(std::int64_t inbox_id, bool read) {
    return db->write([&](store::Tx& tx) {
      const auto row = tx.query_one(
          "INSERT INTO sandbox_messages (inbox_id, account_id, subject, from_email, from_name, to_email, to_name, "
          "recipients_json, headers_json, smtp_json, message_id_header, sent_at, created_at, updated_at, is_read, "
          "email_size, raw_zstd) VALUES (?, ?, 's', 'a@x', '', 'b@y', '', '{}', '[]', '{}', '', 1, 1, 1, ?, 10, ?) "
          "RETURNING id",
          {inbox_id, boot.account_id, std::int64_t{read ? 1 : 0}, store::Blob{"raw"}});
      const std::int64_t id = row->integer(0);
      store::MessagesStore(tx).index(id, {"s", "a@x", "", "hello", {}});
      return id;
    });
  }

  // Messages whose search rows exist, and (SQLite) whose words the index still finds.
  std::int64_t search_rows() {
    return db->read([](store::Tx& tx) {
      if (tx.dialect() != store::Dialect::sqlite)
        return tx.query_one("SELECT COUNT(*) FROM sandbox_messages_fts")->integer(0);
      const std::int64_t rows = tx.query_one("SELECT COUNT(*) FROM sandbox_messages_search")->integer(0);
      const std::int64_t words =
          tx.query_one("SELECT COUNT(*) FROM sandbox_messages_words WHERE sandbox_messages_words MATCH 'hello'")
              ->integer(0);
      EXPECT_EQ(rows, words) << "the index holds the words of exactly the kept search rows";
      return rows;
    });
  }

  static std::map<std::string, std::vector<std::string>> errors_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const ValidationError& e) {
      return e.errors;
    }
    ADD_FAILURE() << "no ValidationError";
    return {};
  }

  ManualClock clock{1'780'000'000};
  Config config;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  std::unique_ptr<InboxesService> service;
  accounts::BootstrapResult boot;
  Principal admin;
};

TEST_P(InboxesServiceTest, ProjectNamesAreValidatedAsTheRealApiDoes) {
  using Errors = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(errors_of([&] { service->create_project(admin, boot.account_id, ""); }),
            (Errors{{"name", {"can't be blank", "is too short (minimum is 2 characters)"}}}));
  EXPECT_EQ(errors_of([&] { service->create_project(admin, boot.account_id, "x"); }),
            (Errors{{"name", {"is too short (minimum is 2 characters)"}}}));
  EXPECT_EQ(errors_of([&] { service->create_project(admin, boot.account_id, std::string(101, 'x')); }),
            (Errors{{"name", {"is too long (maximum is 100 characters)"}}}));
  EXPECT_EQ(service->create_project(admin, boot.account_id, "\xc3\xa9\xc3\xa9").name, "\xc3\xa9\xc3\xa9")
      << "two characters, four bytes";
  const Project project = service->create_project(admin, boot.account_id, "QA");
  EXPECT_EQ(project.access_level, accounts::level::admin);
  EXPECT_TRUE(project.inboxes.empty());
  EXPECT_EQ(service->rename_project(admin, boot.account_id, project.id, "QA 2").name, "QA 2");
  EXPECT_THROW(service->rename_project(admin, boot.account_id, project.id, " "), ValidationError);
  EXPECT_THROW(service->rename_project(admin, boot.account_id, 999999, "Nope"), NotFound);
}

TEST_P(InboxesServiceTest, NewInboxesGetUniqueCredentialsAndADisabledAddress) {
  const Project project = service->create_project(admin, boot.account_id, "Staging");
  const Inbox a = service->create_inbox(admin, boot.account_id, project.id, "Sign-up Emails (EU)!");
  const Inbox b = service->create_inbox(admin, boot.account_id, project.id, "Sign-up Emails (EU)!");
  const std::regex hex14("[0-9a-f]{14}");
  EXPECT_TRUE(std::regex_match(a.smtp_username, hex14)) << a.smtp_username;
  EXPECT_TRUE(std::regex_match(a.smtp_password, hex14)) << a.smtp_password;
  EXPECT_NE(a.smtp_username, b.smtp_username);
  EXPECT_TRUE(std::regex_match(a.email_username, std::regex("sign-up-emails-eu-[a-z0-9]{6}"))) << a.email_username;
  EXPECT_NE(a.email_username, b.email_username) << "the hash tells them apart";
  EXPECT_FALSE(a.email_username_enabled);
  EXPECT_EQ(a.status, "active");
  EXPECT_EQ(a.emails_count, 0);
  EXPECT_EQ(a.access_level, accounts::level::admin);
  EXPECT_THROW(service->create_inbox(admin, boot.account_id, project.id, "  "), ValidationError);
  EXPECT_THROW(service->create_inbox(admin, boot.account_id, 999999, "x"), NotFound);
  EXPECT_EQ(service->get_project(admin, boot.account_id, project.id).inboxes.size(), 2u);
}

TEST_P(InboxesServiceTest, DefaultAliasesAreLowerCaseLettersDigitsAndDashes) {
  EXPECT_EQ(InboxesService::default_alias("My Sandbox"), "my-sandbox");
  EXPECT_EQ(InboxesService::default_alias("  Ünïcode__and...dots 42 "), "n-code-and-dots-42");
  EXPECT_EQ(InboxesService::default_alias("!!!"), "sandbox");
  EXPECT_EQ(InboxesService::default_alias(std::string(80, 'a')).size(), kMaxEmailAliasLength);
  EXPECT_EQ(InboxesService::email_hash_of("my-sandbox-ab12cd"), "ab12cd");
  EXPECT_EQ(InboxesService::email_hash_of("short"), "");
}

TEST_P(InboxesServiceTest, EndpointsDescribeTheConfiguredListeners) {
  const SandboxEndpoints& endpoints = service->endpoints();
  EXPECT_EQ(endpoints.smtp_host, "127.0.0.1");
  EXPECT_EQ(endpoints.smtp_ports, (std::vector<std::int64_t>{2525, 587, 465}));
  EXPECT_EQ(endpoints.api_domain, "postroom.example.test");
  EXPECT_EQ(endpoints.email_domain, "inbox.example.test");
  EXPECT_EQ(endpoints.public_url, "https://postroom.example.test:8443");
  config.sandbox.smtp_host = "smtp.example.test";
  EXPECT_EQ(SandboxEndpoints::from_config(config).smtp_host, "smtp.example.test");
}

TEST_P(InboxesServiceTest, TheEmailAddressCanBeEnabledEditedAndReset) {
  const Project project = service->create_project(admin, boot.account_id, "Addresses");
  const Inbox inbox = service->create_inbox(admin, boot.account_id, project.id, "Orders");
  const std::string hash = InboxesService::email_hash_of(inbox.email_username);
  ASSERT_EQ(hash.size(), 6u);
  EXPECT_FALSE(service->find_by_email_username(inbox.email_username)) << "disabled addresses receive nothing";

  EXPECT_TRUE(service->toggle_email_username(admin, boot.account_id, inbox.id).email_username_enabled);
  auto route = service->find_by_email_username(inbox.email_username);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->inbox_id, inbox.id);
  EXPECT_EQ(route->account_id, boot.account_id);
  EXPECT_EQ(route->project_id, project.id);
  EXPECT_EQ(route->max_message_size, 654321);
  EXPECT_EQ(route->max_messages, 321);
  EXPECT_TRUE(service->find_by_email_username("ORDERS-" + hash + "+signup-42")) << "+tags and case are ignored";
  EXPECT_FALSE(service->find_by_email_username("orders"));
  EXPECT_FALSE(service->find_by_email_username("+x"));

  InboxChanges changes;
  changes.email_username = "Shop.Team_1";
  const Inbox edited = service->update_inbox(admin, boot.account_id, inbox.id, changes);
  EXPECT_EQ(edited.email_username, "shop.team_1-" + hash) << "the alias changes, the hash stays";
  EXPECT_TRUE(service->find_by_email_username("shop.team_1-" + hash));
  EXPECT_FALSE(service->find_by_email_username(inbox.email_username));
  changes.email_username = "shop.team_1-" + hash;
  EXPECT_EQ(service->update_inbox(admin, boot.account_id, inbox.id, changes).email_username, edited.email_username)
      << "sending the shown address back changes nothing";

  for (const std::string& bad :
       std::vector<std::string>{"", "has space", "ümlaut", ".dot", "a..b", std::string(58, 'a')}) {
    changes.email_username = bad;
    EXPECT_THROW(service->update_inbox(admin, boot.account_id, inbox.id, changes), ValidationError) << bad;
  }

  const Inbox reset = service->reset_email_username(admin, boot.account_id, inbox.id);
  EXPECT_EQ(reset.email_username, "orders-" + hash);
  EXPECT_FALSE(service->toggle_email_username(admin, boot.account_id, inbox.id).email_username_enabled);
  EXPECT_FALSE(service->find_by_email_username(reset.email_username));
}

TEST_P(InboxesServiceTest, TheBootstrapSandboxKeepsOneAddressOnceChanged) {
  const Inbox before = service->get_inbox(admin, boot.account_id, *boot.inbox_id);
  EXPECT_FALSE(before.email_username_stored);
  EXPECT_TRUE(std::regex_match(before.email_username, std::regex("my-sandbox-[a-z0-9]{6}"))) << before.email_username;
  EXPECT_EQ(service->get_inbox(admin, boot.account_id, *boot.inbox_id).email_username, before.email_username);
  const Inbox after = service->reset_credentials(admin, boot.account_id, *boot.inbox_id);
  EXPECT_EQ(after.email_username, before.email_username) << "stored before the username it derives from changes";
  EXPECT_TRUE(after.email_username_stored);
}

TEST_P(InboxesServiceTest, ResetCredentialsReplacesTheSmtpLogin) {
  const auto old_auth = service->find_by_smtp_username(*boot.smtp_username);
  ASSERT_TRUE(old_auth);
  EXPECT_EQ(old_auth->inbox_id, *boot.inbox_id);
  EXPECT_EQ(old_auth->account_id, boot.account_id);
  EXPECT_EQ(old_auth->smtp_password, *boot.smtp_password);
  EXPECT_EQ(old_auth->max_message_size, 654321);
  EXPECT_EQ(old_auth->max_messages, 321);
  const Inbox reset = service->reset_credentials(admin, boot.account_id, *boot.inbox_id);
  EXPECT_NE(reset.smtp_username, *boot.smtp_username);
  EXPECT_NE(reset.smtp_password, *boot.smtp_password);
  EXPECT_EQ(reset.smtp_username.size(), kCredentialLength);
  EXPECT_FALSE(service->find_by_smtp_username(*boot.smtp_username)) << "the old login stops at once";
  const auto auth = service->find_by_smtp_username(reset.smtp_username);
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->smtp_password, reset.smtp_password);
  EXPECT_FALSE(service->find_by_smtp_username(""));
}

TEST_P(InboxesServiceTest, CountsCleanAndAllRead) {
  const std::int64_t inbox_id = *boot.inbox_id;
  add_message(inbox_id, false);
  add_message(inbox_id, false);
  add_message(inbox_id, true);
  Inbox inbox = service->get_inbox(admin, boot.account_id, inbox_id);
  EXPECT_EQ(inbox.emails_count, 3);
  EXPECT_EQ(inbox.emails_unread_count, 2);
  inbox = service->mark_all_read(admin, boot.account_id, inbox_id);
  EXPECT_EQ(inbox.emails_count, 3);
  EXPECT_EQ(inbox.emails_unread_count, 0);
  EXPECT_EQ(search_rows(), 3);
  inbox = service->clean_inbox(admin, boot.account_id, inbox_id);
  EXPECT_EQ(inbox.emails_count, 0);
  EXPECT_EQ(search_rows(), 0) << "search rows go with their messages";
}

TEST_P(InboxesServiceTest, DeletingRemovesMessagesSearchRowsAndGrants) {
  const Project project = service->create_project(admin, boot.account_id, "Disposable");
  const Inbox first = service->create_inbox(admin, boot.account_id, project.id, "One");
  const Inbox second = service->create_inbox(admin, boot.account_id, project.id, "Two");
  add_message(first.id, false);
  add_message(second.id, false);
  principal_with({{"inbox", std::to_string(first.id), "10"}, {"project", std::to_string(project.id), "10"}});
  auto grants = [&] {
    return db->read([](store::Tx& tx) {
      return tx.query_one("SELECT COUNT(*) FROM permissions WHERE resource_type IN ('project', 'inbox')")->integer(0);
    });
  };
  EXPECT_EQ(grants(), 2);
  const Inbox deleted = service->delete_inbox(admin, boot.account_id, first.id);
  EXPECT_EQ(deleted.id, first.id);
  EXPECT_EQ(deleted.emails_count, 1) << "the inbox as it was";
  EXPECT_THROW(service->get_inbox(admin, boot.account_id, first.id), NotFound);
  EXPECT_EQ(grants(), 1);
  service->delete_project(boot.account_id, project.id);
  EXPECT_THROW(service->get_project(admin, boot.account_id, project.id), NotFound);
  EXPECT_THROW(service->get_inbox(admin, boot.account_id, second.id), NotFound);
  EXPECT_EQ(grants(), 0);
  EXPECT_EQ(search_rows(), 0);
  EXPECT_EQ(db->read([](store::Tx& tx) { return tx.query_one("SELECT COUNT(*) FROM sandbox_messages")->integer(0); }),
            0);
  EXPECT_THROW(service->delete_project(boot.account_id, project.id), NotFound);
}

TEST_P(InboxesServiceTest, AGrantOnOneInboxShowsOnlyThatInbox) {
  const Project project = service->create_project(admin, boot.account_id, "Shared");
  const Inbox visible = service->create_inbox(admin, boot.account_id, project.id, "Visible");
  service->create_inbox(admin, boot.account_id, project.id, "Hidden");
  const Principal viewer = principal_with({{"inbox", std::to_string(visible.id), "10"}});

  const auto inboxes = service->list_inboxes(viewer, boot.account_id);
  ASSERT_EQ(inboxes.size(), 1u);
  EXPECT_EQ(inboxes[0].id, visible.id);
  EXPECT_EQ(inboxes[0].access_level, accounts::level::viewer);

  const auto projects = service->list_projects(viewer, boot.account_id);
  ASSERT_EQ(projects.size(), 1u) << "the bootstrap project is not visible";
  EXPECT_EQ(projects[0].id, project.id);
  EXPECT_LT(projects[0].access_level, accounts::level::viewer) << "seen through an inbox, not granted";
  ASSERT_EQ(projects[0].inboxes.size(), 1u);
  EXPECT_EQ(projects[0].inboxes[0].id, visible.id);

  const Principal project_admin = principal_with({{"project", std::to_string(project.id), "100"}});
  EXPECT_EQ(service->list_inboxes(project_admin, boot.account_id).size(), 2u);
  EXPECT_EQ(service->list_projects(project_admin, boot.account_id).at(0).access_level, accounts::level::admin);
  EXPECT_EQ(service->list_projects(admin, boot.account_id).size(), 2u);
  EXPECT_EQ(service->list_inboxes(admin, boot.account_id).size(), 3u);
}

TEST_P(InboxesServiceTest, AnotherAccountsProjectsAndInboxesAreNotFound) {
  const accounts::Account other = accounts->create_sub_account(boot.organization_id, "Client B");
  const Project theirs = service->create_project(admin, other.id, "Client B project");
  const Inbox their_inbox = service->create_inbox(admin, other.id, theirs.id, "Client B inbox");
  EXPECT_THROW(service->get_project(admin, boot.account_id, theirs.id), NotFound);
  EXPECT_THROW(service->get_inbox(admin, boot.account_id, their_inbox.id), NotFound);
  EXPECT_THROW(service->create_inbox(admin, boot.account_id, theirs.id, "x"), NotFound);
  EXPECT_THROW(service->rename_project(admin, boot.account_id, theirs.id, "Mine"), NotFound);
  EXPECT_THROW(service->delete_project(boot.account_id, theirs.id), NotFound);
  EXPECT_THROW(service->clean_inbox(admin, boot.account_id, their_inbox.id), NotFound);
  EXPECT_THROW(service->reset_credentials(admin, boot.account_id, their_inbox.id), NotFound);
  EXPECT_THROW(service->delete_inbox(admin, boot.account_id, their_inbox.id), NotFound);
  for (const Inbox& inbox : service->list_inboxes(admin, boot.account_id)) EXPECT_NE(inbox.id, their_inbox.id);
  EXPECT_EQ(service->get_inbox(admin, other.id, their_inbox.id).name, "Client B inbox");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, InboxesServiceTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, InboxesServiceTest, ::testing::Values("postgres"));
