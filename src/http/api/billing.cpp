// GET /api/accounts/{id}/billing/usage: real usage counters of the current monthly cycle.
#include "core/clock.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

static json::object counter_json(const accounts::UsageCounter& counter) {
  json::object out{{"current", counter.current}};
  if (counter.limit)
    out["limit"] = *counter.limit;
  else
    out["limit"] = nullptr;  // unlimited
  return out;
}

void add_billing_routes(Router& router, Services& services) {
  router.add_account_route("GET", "/billing/usage", rules::billing_viewer(), [&services](Context& context) {
    const accounts::BillingUsage usage = services.accounts.billing_usage(context.account_id);
    return json_response(
        200, {{"billing", {{"cycle_start", iso8601(usage.cycle_start)}, {"cycle_end", iso8601(usage.cycle_end)}}},
              {"testing",
               {{"plan", {{"name", usage.testing_plan}}},
                {"usage",
                 {{"sent_messages_count", counter_json(usage.testing_sent)},
                  {"forwarded_messages_count", counter_json(usage.testing_forwarded)}}}}},
              {"sending",
               {{"plan", {{"name", usage.sending_plan}}},
                {"usage", {{"sent_messages_count", counter_json(usage.sending_sent)}}}}}});
  });
}

}  // namespace postroom::http::api
