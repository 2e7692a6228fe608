// Live sending over HTTP (WIRE-COMPATIBILITY §3): POST /api/send and /api/batch on the transactional stream; the
// bulk stream on the same paths when the Host starts with "bulk." and under /bulk/api/… so one port serves both.
// Errors in the sending API's shape: {"success":false,"errors":[…]}.
//
// Both answer from the commit instead of waiting for it (deferred responses, http/message.h): no thread is held
// while a message's transaction waits for its fsync, so every connection's sends share the group commit.
#include <mutex>

#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/send_shape.h"
#include "http/json.h"
#include "mime/send_request.h"
#include "sending/service.h"

namespace postroom::http::api {
namespace {

using Outcome = std::function<void(SendOutcome outcome)>;

SendOutcome accepted_outcome(const sending::Accepted& accepted) {
  json::array ids;
  for (const auto& id : accepted.message_ids) ids.emplace_back(id);
  return {200, {{"success", true}, {"message_ids", std::move(ids)}}};
}

// Starts accepting one message. A refusal is returned at once; otherwise nullopt, and `committed` is called with
// the outcome once the message is stored (on the committing thread), or `failed` with the error that kept it out.
std::optional<SendOutcome> start_send(sending::SendingService& service, const sending::Sender& sender,
                                      mime::SendRequestResult& parsed, Outcome committed,
                                      std::function<void(std::exception_ptr)> failed) {
  if (!parsed.ok()) return SendOutcome{400, send_failure(parsed.errors)};
  const std::string template_uuid = parsed.message->template_uuid;  // the message itself is handed over
  try {
    service.accept_async(sender, std::move(*parsed.message),
                         [committed = std::move(committed), failed = std::move(failed)](sending::Accepted accepted,
                                                                                        std::exception_ptr error) {
                           if (error) return failed(std::move(error));
                           committed(accepted_outcome(accepted));
                         });
    return std::nullopt;
  } catch (const sending::SendRefused& e) {
    return SendOutcome{e.http_status, send_failure({e.what()})};
  } catch (const NotFound&) {
    return SendOutcome{404, send_failure({"Template with uuid '" + template_uuid + "' not found"})};
  } catch (const ValidationError& e) {
    std::vector<std::string> errors;
    for (const auto& [field, texts] : e.errors)
      for (const auto& text : texts) errors.push_back(field + " " + text);
    return SendOutcome{400, send_failure(std::move(errors))};
  }
}

sending::Sender sender_of(const Context& context, bool bulk_path) {
  // Behind a reverse proxy the original host arrives as X-Forwarded-Host.
  const auto host = context.request.header("host").value_or("");
  const auto forwarded = context.request.header("x-forwarded-host").value_or("");
  const bool bulk = bulk_path || host.starts_with("bulk.") || forwarded.starts_with("bulk.");
  return {.account_id = context.account_id,
          .principal = context.principal,
          .stream = bulk ? sending::Stream::bulk : sending::Stream::transactional,
          .client_ip = context.request.remote_address};
}

Response send(sending::SendingService& service, const sending::Sender& sender, mime::SendRequestResult parsed) {
  auto deferred = std::make_shared<DeferredResponse>();
  const auto refused = start_send(
      service, sender, parsed,
      [deferred](SendOutcome outcome) { deferred->complete(json_response(outcome.status, outcome.body)); },
      [deferred](std::exception_ptr error) { deferred->fail(std::move(error)); });
  if (refused) return json_response(refused->status, refused->body);
  return deferred_response(std::move(deferred));
}

// A batch answers once every message of it has its outcome; the messages' writes share commits.
class BatchAnswer {
 public:
  explicit BatchAnswer(std::size_t messages) : bodies_(messages), waiting_(messages + 1) {}

  // Records message i's outcome; the last one settles the response.
  void set(std::size_t i, SendOutcome outcome) {
    std::unique_lock lock(mutex_);
    bodies_[i] = std::move(outcome.body);
    arrived(lock);
  }
  void fail(std::exception_ptr error) {
    std::unique_lock lock(mutex_);
    if (!error_) error_ = std::move(error);
    arrived(lock);
  }
  // Starting is over: nothing more than the outstanding outcomes will arrive.
  void started() {
    std::unique_lock lock(mutex_);
    arrived(lock);
  }
  Response response() { return deferred_response(deferred_); }

 private:
  void arrived(std::unique_lock<std::mutex>& lock) {
    if (--waiting_ != 0) return;
    json::array responses;
    for (auto& body : bodies_) responses.push_back(std::move(body));
    std::exception_ptr error = error_;
    lock.unlock();
    // A write that failed (not a refusal) fails the whole batch, as it would have by throwing.
    if (error) return deferred_->fail(std::move(error));
    deferred_->complete(json_response(200, {{"success", true}, {"responses", std::move(responses)}}));
  }

  std::mutex mutex_;
  std::vector<json::object> bodies_;
  std::size_t waiting_;  // outcomes still to come, plus one until started()
  std::exception_ptr error_;
  std::shared_ptr<DeferredResponse> deferred_ = std::make_shared<DeferredResponse>();
};

Response send_batch(sending::SendingService& service, const sending::Sender& sender, mime::BatchRequestResult batch) {
  auto answer = std::make_shared<BatchAnswer>(batch.requests.size());
  for (std::size_t i = 0; i < batch.requests.size(); ++i) {
    const auto refused = start_send(
        service, sender, batch.requests[i], [answer, i](SendOutcome outcome) { answer->set(i, std::move(outcome)); },
        [answer](std::exception_ptr error) { answer->fail(std::move(error)); });
    if (refused) answer->set(i, std::move(*refused));
  }
  answer->started();
  return answer->response();
}

}  // namespace

void add_send_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  // One message is light enough for an I/O thread (answers_later); a batch of up to 500 runs on the workers.
  const RouteOptions one{.blocks = false, .sending_errors = true, .writes = false, .answers_later = true};
  const RouteOptions many{.blocks = false, .sending_errors = true, .writes = false, .answers_later = false};
  for (const bool bulk_path : {false, true}) {
    const std::string prefix = bulk_path ? "/bulk" : "";
    router.add(
        "POST", prefix + "/api/send", rules::in_account(),
        [&service, bulk_path](Context& context) {
          return send(service, sender_of(context, bulk_path), mime::parse_send_request(parse_body(context.request)));
        },
        one);
    router.add(
        "POST", prefix + "/api/batch", rules::in_account(),
        [&service, bulk_path](Context& context) {
          mime::BatchRequestResult batch = mime::parse_batch_request(parse_body(context.request));
          if (!batch.ok()) return json_response(400, send_failure(batch.errors));
          return send_batch(service, sender_of(context, bulk_path), std::move(batch));
        },
        many);
  }
}

}  // namespace postroom::http::api
