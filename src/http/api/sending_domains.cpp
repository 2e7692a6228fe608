// Sending domains (WIRE-COMPATIBILITY §4.3): list {"data":[…]}, create (200, unwrapped), get, PATCH settings,
// DELETE (204), send_setup_instructions (204), plus Postroom's verify, DNS record exports, DKIM rotation and
// compliance decision. Access: the account's admins and viewers, or grants on the domain itself (the token
// created with each domain holds Domain Admin on it).
#include "core/clock.h"
#include "core/errors.h"
#include "domains/records.h"
#include "domains/service.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

namespace {

AccessRule domain_level(int min_level) {
  return {Scope::account, accounts::ResourceType::sending_domain, min_level, "domain_id"};
}

json::object domain_json(const domains::SendingDomain& d, int level) {
  json::array records;
  for (const auto& r : d.dns_records) {
    json::object record{{"key", r.key},
                        {"domain", r.domain},
                        {"type", r.type},
                        {"value", r.value},
                        {"status", domains::to_string(r.status)},
                        {"name", r.name},
                        {"required", r.required}};
    if (!r.reason.empty()) record["reason"] = r.reason;
    if (!r.found.empty()) record["found"] = r.found;
    records.push_back(std::move(record));
  }
  json::array bcc;
  for (const auto& email : d.auto_bcc.emails) bcc.emplace_back(email);
  json::value alert = d.alert_recipient_email ? json::value(*d.alert_recipient_email) : json::value(nullptr);
  return {{"domain_name", d.domain_name},
          {"open_tracking_enabled", d.open_tracking_enabled},
          {"click_tracking_enabled", d.click_tracking_enabled},
          {"auto_unsubscribe_link_enabled", d.auto_unsubscribe_link_enabled},
          {"custom_domain_tracking_enabled", d.custom_domain_tracking_enabled},
          {"health_alerts_enabled", d.health_alerts_enabled},
          {"critical_alerts_enabled", d.critical_alerts_enabled},
          {"alert_recipient_email", std::move(alert)},
          {"inbound_enabled", d.inbound_enabled},
          {"inbound_verified", false},
          {"demo", d.demo},
          {"id", d.id},
          {"dns_records", std::move(records)},
          {"dns_verified", d.dns_verified},
          // The recorded API writes "" (not null) before the first verification.
          {"dns_verified_at", d.dns_verified_at ? json::value(iso8601(*d.dns_verified_at)) : json::value("")},
          {"permissions",
           {{"can_read", level >= accounts::level::viewer},
            {"can_update", level >= accounts::level::admin},
            {"can_destroy", level >= accounts::level::admin}}},
          {"compliance_status", d.compliance_status},
          // Postroom's additions.
          {"bulk_unsubscribe_footer_enabled", d.bulk_unsubscribe_footer_enabled},
          {"auto_bcc",
           {{"emails", std::move(bcc)},
            {"header_name", d.auto_bcc.header_name},
            {"header_value", d.auto_bcc.header_value}}},
          {"dns_lost", d.dns_lost},
          {"dns_checked_at", optional_time(d.dns_checked_at)}};
}

domains::SettingsInput read_settings(const Request& request) {
  const json::value body = parse_body(request);
  const json::object& root = as_object(body, "");
  const json::object* fields = optional_object(root, "sending_domain", "");
  domains::SettingsInput input;
  if (!fields) return input;
  auto flag = [fields](const char* key) -> std::optional<bool> {
    if (!fields->contains(key)) return std::nullopt;
    return optional_bool(*fields, key, "sending_domain");
  };
  input.open_tracking_enabled = flag("open_tracking_enabled");
  input.click_tracking_enabled = flag("click_tracking_enabled");
  input.custom_domain_tracking_enabled = flag("custom_domain_tracking_enabled");
  input.auto_unsubscribe_link_enabled = flag("auto_unsubscribe_link_enabled");
  input.bulk_unsubscribe_footer_enabled = flag("bulk_unsubscribe_footer_enabled");
  input.health_alerts_enabled = flag("health_alerts_enabled");
  input.critical_alerts_enabled = flag("critical_alerts_enabled");
  input.inbound_enabled = flag("inbound_enabled");
  if (const auto it = fields->find("alert_recipient_email"); it != fields->end()) {
    if (it->value().is_null())
      input.alert_recipient_email = std::optional<std::string>();
    else
      input.alert_recipient_email = optional_string(*fields, "alert_recipient_email", "sending_domain");
  }
  if (const json::object* bcc = optional_object(*fields, "auto_bcc", "sending_domain")) {
    if (const json::array* emails = optional_array(*bcc, "emails", "auto_bcc")) {
      std::vector<std::string> list;
      for (const auto& email : *emails) {
        if (!email.is_string()) throw BadRequest("'auto_bcc.emails' must be an array of strings");
        list.emplace_back(email.get_string());
      }
      input.auto_bcc_emails = std::move(list);
    }
    input.auto_bcc_header_name = optional_string(*bcc, "header_name", "auto_bcc");
    input.auto_bcc_header_value = optional_string(*bcc, "header_value", "auto_bcc");
  }
  return input;
}

json::object company_json(const domains::CompanyInfo& info) {
  auto nullable = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
  return {{"name", info.name},
          {"address", info.address},
          {"city", info.city},
          {"country", info.country},
          {"phone", nullable(info.phone)},
          {"zip_code", info.zip_code},
          {"privacy_policy_url", nullable(info.privacy_policy_url)},
          {"terms_of_service_url", nullable(info.terms_of_service_url)},
          {"website_url", info.website_url},
          {"info_level", info.info_level}};
}

domains::CompanyInfoInput read_company_info(const Request& request) {
  const json::value body = parse_body(request);
  const json::object& root = as_object(body, "");
  const json::object* fields = optional_object(root, "company_info", "");
  domains::CompanyInfoInput input;
  if (!fields) return input;
  for (const auto& [key, value] : *fields) {
    if (value.is_null()) {
      input.emplace_back(std::string(key), std::nullopt);
    } else if (value.is_string()) {
      input.emplace_back(std::string(key), std::string(value.get_string()));
    } else {
      throw BadRequest("'company_info." + std::string(key) + "' must be a string");
    }
  }
  return input;
}

void add_company_info_routes(Router& router, domains::DomainsService& service, const std::string& base) {
  auto get = [&service](Context& context) {
    return json_response(
        200,
        json::object{{"data", company_json(service.company_info(context.account_id, context.id_param("domain_id")))}});
  };
  auto save = [&service](bool create) {
    return [&service, create](Context& context) {
      const auto info = service.save_company_info(context.account_id, context.id_param("domain_id"),
                                                  read_company_info(context.request), create);
      return json_response(200, json::object{{"data", company_json(info)}});
    };
  };
  router.add("GET", base, domain_level(accounts::level::viewer), get);
  router.add("POST", base, domain_level(accounts::level::admin), save(true));
  router.add("PATCH", base, domain_level(accounts::level::admin), save(false));
}

}  // namespace

void add_sending_domains_routes(Router& router, Services& services) {
  if (!services.domains) return;
  auto& domains = *services.domains;
  auto& accounts = services.accounts;
  auto level_of = [&accounts](const Context& context, std::int64_t id) {
    return accounts.level_on(context.principal, {accounts::ResourceType::sending_domain, id});
  };

  router.add_account_route("GET", "/sending_domains", rules::in_account(),
                           [&domains, level_of](Context& context) {
                             json::array out;
                             for (const auto& d : domains.list(context.account_id)) {
                               const int level = level_of(context, d.id);
                               if (level >= accounts::level::viewer) out.push_back(domain_json(d, level));
                             }
                             return json_response(200, json::object{{"data", std::move(out)}});
                           },
                           {.writes = true});  // the demo domain is created on first use
  router.add_account_route("POST", "/sending_domains", rules::account_admin(), [&domains](Context& context) {
    const json::value body = parse_body(context.request);
    const json::object* fields = optional_object(as_object(body, ""), "sending_domain", "");
    const std::string name = fields ? optional_string(*fields, "domain_name", "sending_domain").value_or("") : "";
    auto created = domains.create(context.account_id, name);
    json::object out = domain_json(created.domain, context.level);
    // The domain's own token ("<domain> token <id>", Domain Admin); its secret is shown only here.
    out["api_token"] = json::object{
        {"id", created.token.token.id}, {"name", created.token.token.name}, {"token", created.token.secret}};
    return json_response(200, out);
  });
  router.add_account_route(
      "GET", "/sending_domains/{domain_id}", domain_level(accounts::level::viewer), [&domains](Context& context) {
        return json_response(
            200, domain_json(domains.get(context.account_id, context.id_param("domain_id")), context.level));
      });
  router.add_account_route(
      "PATCH", "/sending_domains/{domain_id}", domain_level(accounts::level::admin), [&domains](Context& context) {
        const auto settings = read_settings(context.request);
        return json_response(
            200,
            domain_json(domains.update(context.account_id, context.id_param("domain_id"), settings), context.level));
      });
  router.add_account_route("DELETE", "/sending_domains/{domain_id}", domain_level(accounts::level::admin),
                           [&domains](Context& context) {
                             domains.remove(context.account_id, context.id_param("domain_id"));
                             return no_content();
                           });
  router.add_account_route("POST", "/sending_domains/{domain_id}/send_setup_instructions",
                           domain_level(accounts::level::admin), [&domains](Context& context) {
                             const json::value body = parse_body(context.request);
                             const auto email = optional_string(as_object(body, ""), "email", "");
                             domains.send_setup_instructions(context.account_id, context.id_param("domain_id"),
                                                             email.value_or(""));
                             return no_content();
                           });
  router.add_account_route(
      "POST", "/sending_domains/{domain_id}/verify", domain_level(accounts::level::viewer),
      [&domains](Context& context) {
        return json_response(
            200, domain_json(domains.verify(context.account_id, context.id_param("domain_id")), context.level));
      });
  router.add_account_route(
      "GET", "/sending_domains/{domain_id}/dns_records", domain_level(accounts::level::viewer),
      [&domains](Context& context) {
        const auto domain = domains.get(context.account_id, context.id_param("domain_id"));
        const std::string format = context.request.query_value("format").value_or("json");
        if (format == "bind") {
          Response response;
          response.content_type = "text/plain; charset=utf-8";
          response.body = domains::to_bind_zone(domain.domain_name, domain.dns_records);
          return response;
        }
        if (format == "route53")
          return json_response(200,
                               json::parse(domains::to_route53_change_batch(domain.domain_name, domain.dns_records)));
        if (format == "cloudflare")
          return json_response(200, json::parse(domains::to_cloudflare_records(domain.dns_records)));
        if (format != "json") throw BadRequest("'format' must be json, bind, route53 or cloudflare");
        return json_response(200, json::object{{"data", domain_json(domain, context.level).at("dns_records")}});
      });
  router.add_account_route(
      "POST", "/sending_domains/{domain_id}/dkim_rotation", domain_level(accounts::level::admin),
      [&domains](Context& context) {
        return json_response(
            200, domain_json(domains.rotate_dkim(context.account_id, context.id_param("domain_id")), context.level));
      });
  // The compliance decision belongs to whoever runs the installation: admins of the organization that owns the
  // account (an account admin cannot approve its own domains).
  router.add_account_route(
      "POST", "/sending_domains/{domain_id}/compliance", rules::account_admin(),
      [&domains, &accounts](Context& context) {
        if (accounts.organization_level(context.principal, context.account_id) < accounts::level::admin)
          return forbidden();
        const json::value body = parse_body(context.request);
        const auto status = optional_string(as_object(body, ""), "compliance_status", "");
        return json_response(200, domain_json(domains.set_compliance(context.account_id, context.id_param("domain_id"),
                                                                     status.value_or("")),
                                              accounts::level::owner));
      });

  add_company_info_routes(router, domains, "/api/accounts/{account_id}/sending_domains/{domain_id}/company_info");
  add_company_info_routes(router, domains, "/api/sending_domains/{domain_id}/company_info");
  add_company_info_routes(router, domains, "/api/domains/{domain_id}/company_info");
}

}  // namespace postroom::http::api
