// GET /healthz (process alive), /readyz (storage reachable), /metrics (Prometheus text).
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

void add_health_routes(Router& router, Services& services) {
  router.add("GET", "/healthz", rules::open(), [](Context&) { return json_response(200, {{"status", "ok"}}); });
  router.add("GET", "/readyz", rules::open(), [&services](Context&) {
    if (!services.database.ping()) return json_response(503, {{"status", "storage unreachable"}});
    return json_response(200, {{"status", "ready"}});
  });
  router.add("GET", "/metrics", rules::open(), [&services](Context&) {
    const store::StorageStats stats = services.database.stats();
    std::string extra;
    extra += "# HELP postroom_storage_write_jobs_total Write jobs committed.\n";
    extra += "# TYPE postroom_storage_write_jobs_total counter\n";
    extra += "postroom_storage_write_jobs_total " + std::to_string(stats.write_jobs) + "\n";
    extra += "# HELP postroom_storage_commits_total Transactions committed (jobs share commits under group commit).\n";
    extra += "# TYPE postroom_storage_commits_total counter\n";
    extra += "postroom_storage_commits_total " + std::to_string(stats.write_commits) + "\n";
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = services.metrics.render(extra);
    return response;
  });
}

}  // namespace postroom::http::api
