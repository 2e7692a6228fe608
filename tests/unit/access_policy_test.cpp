#include "accounts/access_policy.h"

#include <gtest/gtest.h>

using namespace postroom::accounts;

namespace {
const ResourceRef org{ResourceType::organization, 1};
const ResourceRef account{ResourceType::account, 10};
const ResourceRef project{ResourceType::project, 100};
const ResourceRef inbox{ResourceType::inbox, 1000};
const std::vector<ResourceRef> inbox_chain = {inbox, project, account, org};
}  // namespace

TEST(AccessPolicy, GrantsAreInheritedDownward) {
  EXPECT_EQ(effective_level({{org, level::admin}}, inbox_chain), level::admin);
  EXPECT_EQ(effective_level({{account, level::viewer}}, inbox_chain), level::viewer);
  EXPECT_EQ(effective_level({{project, level::admin}}, inbox_chain), level::admin);
}

TEST(AccessPolicy, GrantsDoNotFlowUpOrSideways) {
  EXPECT_EQ(effective_level({{inbox, level::admin}}, {project, account, org}), 0);
  EXPECT_EQ(effective_level({{ResourceRef{ResourceType::account, 11}, level::admin}}, inbox_chain), 0);
  EXPECT_EQ(effective_level({{ResourceRef{ResourceType::inbox, 1001}, level::admin}}, inbox_chain), 0);
  EXPECT_EQ(effective_level({}, inbox_chain), 0);
}

TEST(AccessPolicy, HighestApplicableGrantWins) {
  EXPECT_EQ(effective_level({{account, level::viewer}, {inbox, level::admin}}, inbox_chain), level::admin);
  EXPECT_EQ(effective_level({{org, level::owner}, {inbox, level::viewer}}, inbox_chain), level::owner);
}

TEST(AccessPolicy, ResourceTypeNamesOfBothApiGenerations) {
  EXPECT_EQ(parse_resource_type("sandbox"), ResourceType::inbox);
  EXPECT_EQ(parse_resource_type("inbox"), ResourceType::inbox);
  EXPECT_EQ(parse_resource_type("domain"), ResourceType::sending_domain);
  EXPECT_EQ(parse_resource_type("email_campaign_permission_scope"), ResourceType::email_campaign);
  EXPECT_FALSE(parse_resource_type("root").has_value());
  EXPECT_EQ(to_string(ResourceType::inbox), "inbox");
}
