// Web UI sessions and users through the services, against SQLite and PostgreSQL.
#include "accounts/sessions.h"

#include <gtest/gtest.h>

#include "accounts/service.h"
#include "core/errors.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::accounts;

class SessionsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    accounts = std::make_unique<AccountsService>(*db, clock, PlanLimits{});
    sessions = std::make_unique<SessionsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
  }
  // Waits until every queued write (a session's refresh is not waited for) has committed.
  void flush() {
    db->write([](store::Tx&) {});
  }
  std::int64_t session_rows() {
    return db->read([](store::Tx& tx) { return tx.query_one("SELECT COUNT(*) FROM ui_sessions")->integer(0); });
  }

  ManualClock clock{1'780'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<AccountsService> accounts;
  std::unique_ptr<SessionsService> sessions;
  BootstrapResult boot;
};

TEST_P(SessionsTest, SignInCreatesAHashedSessionActingAsTheUser) {
  const SignInResult result = sessions->sign_in("Admin@Example.test", *boot.admin_password, "127.0.0.1");
  ASSERT_EQ(result.outcome, SignInResult::Outcome::ok);
  EXPECT_EQ(result.session_token.size(), 64u);
  EXPECT_EQ(result.user.email, "admin@example.test");
  EXPECT_FALSE(result.user.password_hash);
  const auto stored = db->read([](store::Tx& tx) { return tx.query_one("SELECT session_hash FROM ui_sessions"); });
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->text(0), result.session_token) << "only the hash is stored";

  const auto principal = sessions->authenticate(result.session_token);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->kind, Principal::Kind::user);
  EXPECT_EQ(principal->id, result.user.id);
  EXPECT_EQ(principal->name, "admin@example.test");
  EXPECT_EQ(principal->account_id, boot.account_id);
  EXPECT_EQ(accounts->level_on(*principal, {ResourceType::account, boot.account_id}), level::owner);
  EXPECT_FALSE(sessions->authenticate(std::string(64, 'a')));
  EXPECT_FALSE(sessions->authenticate(""));
}

TEST_P(SessionsTest, WrongPasswordAndUnknownEmailAreTheSameFailure) {
  EXPECT_EQ(sessions->sign_in("admin@example.test", "wrong password", "10.0.0.1").outcome,
            SignInResult::Outcome::invalid);
  EXPECT_EQ(sessions->sign_in("nobody@example.test", *boot.admin_password, "10.0.0.1").outcome,
            SignInResult::Outcome::invalid);
  EXPECT_EQ(session_rows(), 0);
}

TEST_P(SessionsTest, SessionsExpireFourteenDaysAfterTheirLastUse) {
  const std::string raw = sessions->sign_in("admin@example.test", *boot.admin_password, "::1").session_token;
  clock.advance(13 * 24 * 3600);
  ASSERT_TRUE(sessions->authenticate(raw)) << "used within 14 days: moves the expiry";
  flush();
  clock.advance(13 * 24 * 3600);
  ASSERT_TRUE(sessions->authenticate(raw)) << "26 days after sign-in, 13 after the last use";
  flush();
  clock.advance(kSessionLifetimeSeconds + 1);
  EXPECT_FALSE(sessions->authenticate(raw));
  EXPECT_EQ(sessions->purge_expired(), 1);
  EXPECT_EQ(session_rows(), 0);
}

TEST_P(SessionsTest, UseWithinAnHourWritesNothing) {
  const std::string raw = sessions->sign_in("admin@example.test", *boot.admin_password, "::1").session_token;
  auto expiry = [&] {
    return db->read([](store::Tx& tx) { return tx.query_one("SELECT expires_at FROM ui_sessions")->integer(0); });
  };
  const std::int64_t first = expiry();
  clock.advance(kSessionRefreshSeconds - 1);
  ASSERT_TRUE(sessions->authenticate(raw));
  flush();
  EXPECT_EQ(expiry(), first);
  clock.advance(2);
  ASSERT_TRUE(sessions->authenticate(raw));
  flush();
  EXPECT_EQ(expiry(), clock.now() + kSessionLifetimeSeconds);
}

TEST_P(SessionsTest, SignOutEndsTheSession) {
  const std::string raw = sessions->sign_in("admin@example.test", *boot.admin_password, "::1").session_token;
  EXPECT_TRUE(sessions->sign_out(raw));
  EXPECT_FALSE(sessions->authenticate(raw));
  EXPECT_FALSE(sessions->sign_out(raw));
}

TEST_P(SessionsTest, TenFailuresThrottleTheEmailForFifteenMinutes) {
  for (int i = 0; i < kSignInMaxFailures; ++i)
    ASSERT_EQ(sessions->sign_in("admin@example.test", "wrong", "10.0.0." + std::to_string(i)).outcome,
              SignInResult::Outcome::invalid);
  EXPECT_EQ(sessions->sign_in("ADMIN@example.test", *boot.admin_password, "10.0.1.1").outcome,
            SignInResult::Outcome::throttled)
      << "even the right password, from another address";
  clock.advance(kSignInWindowSeconds + 1);
  EXPECT_EQ(sessions->sign_in("admin@example.test", *boot.admin_password, "10.0.1.1").outcome,
            SignInResult::Outcome::ok);
}

TEST_P(SessionsTest, TenFailuresThrottleTheClientAddress) {
  for (int i = 0; i < kSignInMaxFailures; ++i)
    ASSERT_EQ(sessions->sign_in("user" + std::to_string(i) + "@example.test", "wrong", "10.9.9.9").outcome,
              SignInResult::Outcome::invalid);
  EXPECT_EQ(sessions->sign_in("admin@example.test", *boot.admin_password, "10.9.9.9").outcome,
            SignInResult::Outcome::throttled);
  EXPECT_EQ(sessions->sign_in("admin@example.test", *boot.admin_password, "10.9.9.8").outcome,
            SignInResult::Outcome::ok);
}

TEST_P(SessionsTest, CsrfTokenIsDerivedFromTheSession) {
  const std::string raw = sessions->sign_in("admin@example.test", *boot.admin_password, "::1").session_token;
  const std::string csrf = SessionsService::csrf_token(raw);
  EXPECT_EQ(csrf.size(), 64u);
  EXPECT_NE(csrf, raw);
  EXPECT_TRUE(SessionsService::csrf_matches(raw, csrf));
  EXPECT_FALSE(SessionsService::csrf_matches(raw, raw));
  EXPECT_FALSE(SessionsService::csrf_matches(raw, ""));
  EXPECT_FALSE(SessionsService::csrf_matches("", SessionsService::csrf_token("")));
}

TEST_P(SessionsTest, AddedUsersSignInWithTheirLevel) {
  AccountsService::UserRequest request{"viewer@example.test", "", std::nullopt, "viewer"};
  const auto added = accounts->add_user(boot.account_id, request);
  EXPECT_TRUE(added.created);
  ASSERT_TRUE(added.generated_password);
  EXPECT_EQ(added.user.name, "viewer");
  EXPECT_EQ(added.access_level, level::viewer);
  const SignInResult signed_in = sessions->sign_in("viewer@example.test", *added.generated_password, "::1");
  ASSERT_EQ(signed_in.outcome, SignInResult::Outcome::ok);
  const auto principal = sessions->authenticate(signed_in.session_token);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->account_id, boot.account_id);
  EXPECT_EQ(accounts->level_on(*principal, {ResourceType::account, boot.account_id}), level::viewer);

  // An existing user only gets its access changed; its password stays.
  request.access_level = "admin";
  request.password = "another password";
  const auto again = accounts->add_user(boot.account_id, request);
  EXPECT_FALSE(again.created);
  EXPECT_FALSE(again.generated_password);
  EXPECT_EQ(again.user.id, added.user.id);
  const auto upgraded = sessions->authenticate(signed_in.session_token);
  EXPECT_EQ(accounts->level_on(*upgraded, {ResourceType::account, boot.account_id}), level::admin);
  EXPECT_EQ(sessions->sign_in("viewer@example.test", "another password", "::1").outcome,
            SignInResult::Outcome::invalid);

  // Another account's user reaches only that account.
  const Account other = accounts->create_sub_account(boot.organization_id, "Other");
  const auto outsider =
      accounts->add_user(other.id, {"outsider@example.test", "Outsider", std::string("long enough"), "admin"});
  const auto outsider_session = sessions->sign_in("outsider@example.test", "long enough", "::1");
  const auto outsider_principal = sessions->authenticate(outsider_session.session_token);
  ASSERT_TRUE(outsider_principal);
  EXPECT_EQ(outsider_principal->account_id, other.id);
  EXPECT_EQ(accounts->level_on(*outsider_principal, {ResourceType::account, boot.account_id}), 0);
  EXPECT_EQ(accounts->level_on(*outsider_principal, {ResourceType::account, other.id}), level::admin);
}

TEST_P(SessionsTest, UserInputIsValidated) {
  try {
    accounts->add_user(boot.account_id, {"not-an-email", "", std::string("short"), "owner"});
    FAIL() << "expected a validation error";
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.errors.at("email").front(), "is invalid");
    EXPECT_EQ(e.errors.at("password").front(), "is too short (minimum is 8 characters)");
    EXPECT_EQ(e.errors.at("access_level").front(), "must be admin or viewer");
  }
  EXPECT_THROW(accounts->add_user(9999, {"x@example.test", "", std::nullopt, "admin"}), NotFound);
  // The owner's organization-wide access stays: an account access beside it does not lower its level.
  accounts->add_user(boot.account_id, {"admin@example.test", "", std::nullopt, "viewer"});
  const auto owner =
      sessions->authenticate(sessions->sign_in("admin@example.test", *boot.admin_password, "::1").session_token);
  ASSERT_TRUE(owner);
  EXPECT_EQ(accounts->level_on(*owner, {ResourceType::account, boot.account_id}), level::owner);
}

TEST_P(SessionsTest, AccountsCanBeRenamed) {
  EXPECT_EQ(accounts->rename_account(boot.account_id, "Acme").name, "Acme");
  EXPECT_THROW(accounts->rename_account(boot.account_id, "  "), ValidationError);
  EXPECT_THROW(accounts->rename_account(9999, "x"), NotFound);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SessionsTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, SessionsTest, ::testing::Values("postgres"));
