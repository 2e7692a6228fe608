// Accounts, tokens and access rules through the service, against SQLite and PostgreSQL.
#include "accounts/service.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/errors.h"
#include "store/accounts_store.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::accounts;

class AccountsServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    service = std::make_unique<AccountsService>(*db, clock, PlanLimits{});
    boot = service->bootstrap("admin@example.test");
    admin = *service->authenticate(boot.api_token);
  }

  TokenRequest token_request(const std::string& name, std::vector<GrantInput> resources) {
    TokenRequest request;
    request.name = name;
    request.resources = std::move(resources);
    return request;
  }
  GrantInput account_admin(std::int64_t account) { return {"account", std::to_string(account), "100"}; }

  ManualClock clock{1'780'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<AccountsService> service;
  BootstrapResult boot;
  Principal admin;
};

TEST_P(AccountsServiceTest, BootstrapCreatesTheDefaultsOnceAndThenOnlyNewTokens) {
  EXPECT_TRUE(boot.created);
  ASSERT_TRUE(boot.admin_password);
  ASSERT_TRUE(boot.inbox_id);
  EXPECT_EQ(boot.smtp_username->size(), 14u);
  const BootstrapResult again = service->bootstrap("admin@example.test");
  EXPECT_FALSE(again.created);
  EXPECT_FALSE(again.admin_password) << "the password is printed only when the user is created";
  EXPECT_EQ(again.account_id, boot.account_id);
  EXPECT_EQ(again.inbox_id, boot.inbox_id);
  EXPECT_EQ(again.smtp_password, boot.smtp_password);
  EXPECT_NE(again.api_token, boot.api_token);
  EXPECT_TRUE(service->authenticate(again.api_token));
  EXPECT_TRUE(service->authenticate(boot.api_token)) << "older tokens stay valid";
  EXPECT_TRUE(service->is_bootstrapped());
}

TEST_P(AccountsServiceTest, TokensAndPasswordsAreStoredOnlyAsHashes) {
  const auto rows =
      db->read([](store::Tx& tx) { return tx.query("SELECT token_hash, last_4_digits FROM api_tokens"); });
  ASSERT_FALSE(rows.empty());
  for (const auto& row : rows) {
    EXPECT_NE(row.text(0), boot.api_token);
    EXPECT_EQ(row.text(0).size(), 64u);
  }
  EXPECT_EQ(rows.front().text(0), crypto::sha256_hex(boot.api_token));
  EXPECT_EQ(rows.front().text(1), boot.api_token.substr(60));
  const auto user = db->read([](store::Tx& tx) { return tx.query_one("SELECT password_hash FROM users"); });
  ASSERT_TRUE(user);
  EXPECT_EQ(user->text(0).find(*boot.admin_password), std::string::npos);
  EXPECT_TRUE(crypto::verify_password(*boot.admin_password, user->text(0)));
}

TEST_P(AccountsServiceTest, AuthenticationRejectsUnknownTokens) {
  EXPECT_FALSE(service->authenticate(""));
  EXPECT_FALSE(service->authenticate("nope"));
  EXPECT_FALSE(service->authenticate(boot.api_token.substr(0, 63) + "x"));
  EXPECT_FALSE(service->authenticate(std::string(10000, 'a')));
  const auto principal = service->authenticate(boot.api_token);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->account_id, boot.account_id);
}

TEST_P(AccountsServiceTest, ResetKeepsTheOldTokenFor12HoursThenStopsIt) {
  const CreatedToken first =
      service->create_token(admin, boot.account_id, token_request("CI", {account_admin(boot.account_id)}));
  EXPECT_EQ(first.token.created_by, "Admin token");
  const CreatedToken second = service->reset_token(boot.account_id, first.token.id, {});
  EXPECT_NE(second.token.id, first.token.id);
  EXPECT_EQ(second.token.name, "CI " + std::to_string(second.token.id));
  EXPECT_EQ(second.token.grants, first.token.grants);
  EXPECT_FALSE(second.token.expires_at);
  const ApiToken old = service->get_token(admin, boot.account_id, level::admin, first.token.id);
  ASSERT_TRUE(old.expires_at);
  EXPECT_EQ(*old.expires_at, clock.now() + kResetGraceSeconds);
  EXPECT_THROW(service->reset_token(boot.account_id, first.token.id, {}), ValidationError) << "only once";

  clock.advance(kResetGraceSeconds - 1);
  EXPECT_TRUE(service->authenticate(first.secret));
  clock.advance(1);
  EXPECT_FALSE(service->authenticate(first.secret));
  EXPECT_TRUE(service->authenticate(second.secret));
  EXPECT_THROW(service->reset_token(boot.account_id, first.token.id, {}), ValidationError) << "expired";

  clock.advance(kExpiredTokenRetentionSeconds + 1);
  EXPECT_EQ(service->purge_expired_tokens(), 1);
  EXPECT_THROW(service->get_token(admin, boot.account_id, level::admin, first.token.id), NotFound);
}

TEST_P(AccountsServiceTest, DeleteStopsATokenImmediately) {
  const CreatedToken token =
      service->create_token(admin, boot.account_id, token_request("tmp", {account_admin(boot.account_id)}));
  ASSERT_TRUE(service->authenticate(token.secret));
  service->delete_token(boot.account_id, token.token.id);
  EXPECT_FALSE(service->authenticate(token.secret));
  EXPECT_THROW(service->delete_token(boot.account_id, token.token.id), NotFound);
}

TEST_P(AccountsServiceTest, TokenCreationValidatesItsInput) {
  EXPECT_THROW(service->create_token(admin, boot.account_id, token_request("x", {})), ValidationError);
  EXPECT_THROW(service->create_token(admin, boot.account_id, token_request("", {account_admin(boot.account_id)})),
               ValidationError);
  EXPECT_THROW(service->create_token(admin, boot.account_id, token_request("x", {{"galaxy", "1", "100"}})),
               ValidationError);
  EXPECT_THROW(service->create_token(admin, boot.account_id, token_request("x", {{"account", "1", "godmode"}})),
               ValidationError);
  EXPECT_THROW(
      service->create_token(admin, boot.account_id,
                            token_request("x", {{"organization", std::to_string(boot.organization_id), "100"}})),
      ValidationError)
      << "account tokens cannot be granted organization access";
  try {
    service->create_token(admin, boot.account_id, token_request("x", {}));
  } catch (const ValidationError& e) {
    EXPECT_EQ(e.errors.at("base").at(0), "No permissions selected. Please choose at least one.");
  }
  const std::size_t count = service->list_tokens(admin, boot.account_id, level::admin).size();
  EXPECT_EQ(count, 1u) << "failed creations leave nothing behind";
}

TEST_P(AccountsServiceTest, TenantIsolationBetweenSubAccounts) {
  const Account other = service->create_sub_account(boot.organization_id, "Client B");
  const CreatedToken b = service->create_token(admin, other.id, token_request("B", {account_admin(other.id)}));
  const Principal b_principal = *service->authenticate(b.secret);
  EXPECT_EQ(service->level_on(b_principal, {ResourceType::account, boot.account_id}), 0);
  EXPECT_EQ(service->level_on(b_principal, {ResourceType::inbox, *boot.inbox_id}), 0);
  EXPECT_EQ(service->level_on(b_principal, {ResourceType::organization, boot.organization_id}), 0);
  EXPECT_EQ(service->level_on(b_principal, {ResourceType::account, other.id}), level::admin);
  const auto b_accounts = service->list_accounts(b_principal);
  ASSERT_EQ(b_accounts.size(), 1u);
  EXPECT_EQ(b_accounts[0].account.id, other.id);
  // Object lookups are scoped by account: B's account id never reaches A's tokens.
  EXPECT_THROW(service->delete_token(other.id, admin.id), NotFound);
  EXPECT_THROW(service->reset_token(other.id, admin.id, {}), NotFound);
  EXPECT_TRUE(service->authenticate(boot.api_token));
  // The organization admin reaches both accounts.
  EXPECT_EQ(service->list_accounts(admin).size(), 2u);
  EXPECT_THROW(service->create_token(admin, other.id, token_request("x", {account_admin(boot.account_id)})),
               ValidationError)
      << "a token cannot be granted another account's resources";
}

TEST_P(AccountsServiceTest, NonAdminTokensSeeOnlyThemselves) {
  const CreatedToken viewer = service->create_token(
      admin, boot.account_id, token_request("viewer", {{"inbox", std::to_string(*boot.inbox_id), "viewer"}}));
  const Principal principal = *service->authenticate(viewer.secret);
  const int level = service->level_on(principal, {ResourceType::account, boot.account_id});
  EXPECT_EQ(level, level::indeterminate);
  const auto visible = service->list_tokens(principal, boot.account_id, level);
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0].id, viewer.token.id);
  EXPECT_THROW(service->get_token(principal, boot.account_id, level, admin.id), NotFound);
  EXPECT_EQ(service->level_on(principal, {ResourceType::inbox, *boot.inbox_id}), level::viewer);
  EXPECT_EQ(service->level_on(principal, {ResourceType::billing, boot.account_id}), 0);
}

TEST_P(AccountsServiceTest, BulkPermissionsCreateUpdateAndDestroyGrants) {
  const CreatedToken token = service->create_token(
      admin, boot.account_id, token_request("scoped", {{"inbox", std::to_string(*boot.inbox_id), "viewer"}}));
  const std::int64_t access = token.token.access_id;
  service->update_permissions(boot.account_id, access,
                              {{"inbox", std::to_string(*boot.inbox_id), "admin", false},
                               {"project", std::to_string(*boot.project_id), "10", false}});
  Principal principal = *service->authenticate(token.secret);
  EXPECT_EQ(service->level_on(principal, {ResourceType::inbox, *boot.inbox_id}), level::admin);
  EXPECT_EQ(service->level_on(principal, {ResourceType::project, *boot.project_id}), level::viewer);
  service->update_permissions(boot.account_id, access, {{"inbox", std::to_string(*boot.inbox_id), std::nullopt, true}});
  principal = *service->authenticate(token.secret);
  EXPECT_EQ(service->level_on(principal, {ResourceType::inbox, *boot.inbox_id}), level::viewer) << "via the project";
  EXPECT_THROW(service->update_permissions(boot.account_id, access, {{"inbox", "999999", "admin", false}}),
               ValidationError);
  EXPECT_THROW(service->update_permissions(boot.account_id, 999999, {{"account", "1", "admin", false}}), NotFound);
  // The owner's (organization-wide) access cannot be changed from an account.
  const auto owner = service->list_accesses(admin, boot.account_id, {});
  ASSERT_EQ(owner.size(), 1u);
  EXPECT_EQ(owner[0].access.specifier_type, "User");
  EXPECT_THROW(service->update_permissions(boot.account_id, owner[0].access.id, {{"account", "1", "viewer", false}}),
               Forbidden);
  EXPECT_THROW(service->remove_access(boot.account_id, owner[0].access.id), Forbidden);
  // Removing a token's access removes the token.
  EXPECT_EQ(service->remove_access(boot.account_id, access), access);
  EXPECT_FALSE(service->authenticate(token.secret));
}

TEST_P(AccountsServiceTest, AccessListsFilterByResource) {
  EXPECT_EQ(service->list_accesses(admin, boot.account_id, {}).size(), 1u);
  AccessFilter filter;
  filter.inbox_ids = {*boot.inbox_id};
  EXPECT_TRUE(service->list_accesses(admin, boot.account_id, filter).empty()) << "the owner has no inbox-level grant";
}

TEST_P(AccountsServiceTest, BillingUsageCountsTheCurrentCycle) {
  service->record_usage(boot.account_id, usage_metric::testing_sent, 3);
  service->record_usage(boot.account_id, usage_metric::sending_sent, 2);
  BillingUsage usage = service->billing_usage(boot.account_id);
  EXPECT_EQ(usage.testing_sent.current, 3);
  EXPECT_EQ(usage.sending_sent.current, 2);
  EXPECT_FALSE(usage.testing_sent.limit) << "unlimited by default";
  EXPECT_EQ(usage.cycle_start, clock.now());
  clock.advance(40 * 24 * 3600);  // next cycle starts from zero
  usage = service->billing_usage(boot.account_id);
  EXPECT_EQ(usage.testing_sent.current, 0);
  EXPECT_GT(usage.cycle_start, clock.now() - 31 * 24 * 3600);
}

TEST_P(AccountsServiceTest, ConfiguredPlanLimitsAreReported) {
  PlanLimits plans;
  plans.testing_plan_name = "Team";
  plans.testing_message_limit = 5000;
  AccountsService limited(*db, clock, plans);
  const BillingUsage usage = limited.billing_usage(boot.account_id);
  EXPECT_EQ(usage.testing_plan, "Team");
  EXPECT_EQ(usage.testing_sent.limit, 5000);
  EXPECT_FALSE(usage.sending_sent.limit);
}

TEST_P(AccountsServiceTest, SubAccountsNeedANameAndAnExistingOrganization) {
  EXPECT_THROW(service->create_sub_account(boot.organization_id, "  "), ValidationError);
  EXPECT_THROW(service->create_sub_account(999999, "x"), NotFound);
  service->create_sub_account(boot.organization_id, "Staging");
  EXPECT_EQ(service->list_sub_accounts(boot.organization_id).size(), 2u);
}

TEST(BillingCycle, MonthlyFromTheAnchorClampingShortMonths) {
  const std::int64_t jan31 = 1769817600;  // 2026-01-31T00:00:00Z
  auto [start, end] = AccountsService::billing_cycle(jan31, jan31 + 5 * 24 * 3600);
  EXPECT_EQ(start, jan31);
  EXPECT_EQ(end, 1772236800);  // 2026-02-28
  std::tie(start, end) = AccountsService::billing_cycle(jan31, 1772236800 + 10);
  EXPECT_EQ(start, 1772236800);
  EXPECT_EQ(end, 1774915200);  // 2026-03-31
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AccountsServiceTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, AccountsServiceTest, ::testing::Values("postgres"));
