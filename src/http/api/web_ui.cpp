// The web UI: GET / (index.html) and its files (Vite's hashed /assets/*), compiled into the binary (src/web).
// Hashed assets never change under their name, so browsers may keep them for a year; index.html is revalidated
// so a new build is picked up. The UI documents get a strict CSP: only our own scripts, styles and frames.
#include <algorithm>

#include "http/api/routes.h"
#include "http/json.h"
#include "web/assets.h"

namespace postroom::http::api {

namespace {

constexpr const char* kDocumentPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

const web::Asset* find_asset(std::string_view path) {
  const auto& all = web::assets();
  const auto it = std::lower_bound(all.begin(), all.end(), path, [](const web::Asset& asset, std::string_view wanted) {
    return asset.path < wanted;
  });
  return it != all.end() && it->path == path ? &*it : nullptr;
}

bool accepts_gzip(const Request& request) {
  const auto accepted = request.header("accept-encoding");
  if (!accepted) return false;
  const auto at = accepted->find("gzip");
  return at != std::string_view::npos && accepted->substr(at).substr(0, 9) != "gzip;q=0" &&
         accepted->substr(at).substr(0, 10) != "gzip; q=0";
}

Response asset_response(const Request& request, const web::Asset& asset) {
  Response response;
  response.status = 200;
  response.content_type = std::string(asset.content_type);
  if (!asset.gzip.empty() && accepts_gzip(request)) {
    response.body = std::string(asset.gzip);
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::string(asset.bytes);
  }
  if (!asset.gzip.empty()) response.headers.emplace_back("Vary", "Accept-Encoding");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (asset.path.starts_with("/assets/")) {
    response.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    response.headers.emplace_back("Cache-Control", "no-cache");
  }
  if (asset.content_type.starts_with("text/html")) {
    response.headers.emplace_back("Content-Security-Policy", kDocumentPolicy);
    response.headers.emplace_back("Referrer-Policy", "same-origin");
    response.headers.emplace_back("X-Frame-Options", "DENY");
  }
  return response;
}

}  // namespace

void add_web_ui_routes(Router& router, Services&) {
  router.add("GET", "/", rules::open(), [](Context& context) {
    const web::Asset* index = find_asset("/index.html");
    if (!index) return not_found();
    return asset_response(context.request, *index);
  });
  router.add("GET", "/assets/{file}", rules::open(), [](Context& context) {
    const web::Asset* asset = find_asset("/assets/" + context.params.at("file"));
    if (!asset) return not_found();
    return asset_response(context.request, *asset);
  });
  // Other files at the top (from web/public: icons and the like) by their own name. Anything deeper than
  // /assets/<file> is not served.
  for (const web::Asset& asset : web::assets()) {
    const std::string_view path = asset.path;
    if (path.starts_with("/assets/") || path.find('/', 1) != std::string_view::npos) continue;
    router.add("GET", std::string(path), rules::open(),
               [&asset](Context& context) { return asset_response(context.request, asset); });
  }
}

}  // namespace postroom::http::api
