// Email templates through the service, against SQLite and PostgreSQL: validation, the limit, partial updates,
// tenant isolation, and render_for_send (the send path's entry point).
#include "email_templates/service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "accounts/service.h"
#include "core/errors.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::email_templates;

class TemplatesServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    service = std::make_unique<TemplatesService>(*db, clock, TemplatesSettings{.max_templates_per_account = 3});
  }

  static TemplateInput input(std::string name, std::string subject, std::string html, std::string text) {
    TemplateInput in;
    in.name = std::move(name);
    in.category = "Transactional";
    in.subject = std::move(subject);
    in.body_html = std::move(html);
    in.body_text = std::move(text);
    return in;
  }

  static std::map<std::string, std::vector<std::string>> errors_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const ValidationError& error) {
      return error.errors;
    }
    ADD_FAILURE() << "no validation error";
    return {};
  }

  ManualClock clock{1'700'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  accounts::BootstrapResult boot;
  std::unique_ptr<TemplatesService> service;
};

TEST_P(TemplatesServiceTest, RendersForSendWithVariables) {
  const EmailTemplate t = service->create(
      boot.account_id,
      input("Order", "Order {{{order.number}}} for {{customer.name}}",
            "<p>{{#each order.items}}{{name}} x{{quantity}}{{#unless @last}}, {{/unless}}{{/each}}</p>", ""));
  const auto variables = boost::json::parse(
      R"({"customer":{"name":"Tom & Jerry"},"order":{"number":"A&1","items":[{"name":"Pen","quantity":2},)"
      R"({"name":"<Ink>","quantity":1}]}})");
  const RenderedTemplate rendered = service->render_for_send(boot.account_id, t.uuid, variables);
  EXPECT_EQ(rendered.template_id, t.id);
  EXPECT_EQ(rendered.uuid, t.uuid);
  EXPECT_EQ(rendered.subject, "Order A&1 for Tom &amp; Jerry");
  EXPECT_EQ(rendered.html, "<p>Pen x2, &lt;Ink&gt; x1</p>");
  EXPECT_FALSE(rendered.text.has_value()) << "an empty body is not rendered";
  // Missing variables render empty; a null variables object is an empty one.
  EXPECT_EQ(service->render_for_send(boot.account_id, t.uuid, boost::json::value()).subject, "Order  for ");
}

TEST_P(TemplatesServiceTest, UnknownUuidIsNotFoundAndOtherAccountsDoNotSeeTemplates) {
  const EmailTemplate t = service->create(boot.account_id, input("A", "S", "H", "T"));
  EXPECT_THROW(service->render_for_send(boot.account_id, "no-such-uuid", boost::json::object()), NotFound);
  const auto other = accounts->create_sub_account(boot.organization_id, "Other");
  EXPECT_THROW(service->render_for_send(other.id, t.uuid, boost::json::object()), NotFound);
  EXPECT_THROW(service->get(other.id, t.id), NotFound);
  EXPECT_THROW(service->remove(other.id, t.id), NotFound);
}

TEST_P(TemplatesServiceTest, UpdatesRecompileAndOtherTemplatesServeAsPartials) {
  const EmailTemplate footer =
      service->create(boot.account_id, input("footer", "-", "<small>{{company}}</small>", "-- {{company}}"));
  const EmailTemplate main =
      service->create(boot.account_id, input("main", "Hi", "<p>{{> footer}}</p>", "{{> footer}}"));
  const auto data = boost::json::parse(R"({"company":"ACME"})");
  EXPECT_EQ(service->render_for_send(boot.account_id, main.uuid, data).html, "<p><small>ACME</small></p>");
  EXPECT_EQ(service->render_for_send(boot.account_id, main.uuid, data).text, "-- ACME");
  TemplateInput change;
  change.body_html = "<b>{{company}}</b>";
  service->update(boot.account_id, footer.id, change);
  EXPECT_EQ(service->render_for_send(boot.account_id, main.uuid, data).html, "<p><b>ACME</b></p>");
  TemplateInput missing;
  missing.body_html = "{{> nowhere}}";
  service->update(boot.account_id, main.id, missing);
  EXPECT_EQ(errors_of([&] { service->render_for_send(boot.account_id, main.uuid, data); }).count("template_variables"),
            1u);
}

TEST_P(TemplatesServiceTest, ValidatesFieldsSyntaxAndTheLimit) {
  auto errors = errors_of([&] { service->create(boot.account_id, TemplateInput{}); });
  EXPECT_EQ(errors["name"], std::vector<std::string>{"can't be blank"});
  EXPECT_EQ(errors["subject"], std::vector<std::string>{"can't be blank"});
  EXPECT_EQ(errors["category"], std::vector<std::string>{"can't be blank"});
  errors = errors_of([&] { service->create(boot.account_id, input("x", "ok", "<p>\n{{#if a}}</p>", "")); });
  ASSERT_EQ(errors["body_html"].size(), 1u);
  EXPECT_EQ(errors["body_html"][0].rfind("has a Handlebars syntax error at line 2, column ", 0), 0u)
      << errors["body_html"][0];
  for (int i = 0; i < 3; ++i) service->create(boot.account_id, input("t", "s", "", ""));
  errors = errors_of([&] { service->create(boot.account_id, input("t", "s", "", "")); });
  EXPECT_EQ(errors["base"], std::vector<std::string>{"Each account can have up to 3 email templates"});
}

TEST_P(TemplatesServiceTest, ListsTheVariablesATemplateUses) {
  const EmailTemplate t = service->create(
      boot.account_id,
      input("v", "Hi {{user.first}}", "{{#each items}}{{sku}}{{/each}}", "{{#with user}}{{last}}{{/with}}"));
  EXPECT_EQ(service->variables(boot.account_id, t.id),
            (std::vector<std::string>{"items", "items.[].sku", "user", "user.first", "user.last"}));
  EXPECT_EQ(service->missing_variables(boot.account_id, t.id, boost::json::parse(R"({"user":{"first":"A"}})")),
            (std::vector<std::string>{"items", "items.[].sku", "user.last"}));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, TemplatesServiceTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, TemplatesServiceTest, ::testing::Values("postgres"));
