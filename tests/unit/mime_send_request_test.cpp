#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "mime/send_request.h"

using namespace postroom::mime;
namespace json = boost::json;

namespace {

SendRequestResult send(std::string_view body) { return parse_send_request(json::parse(body)); }

bool has_error(const std::vector<std::string>& errors, std::string_view text) {
  for (const auto& error : errors) {
    if (error == text) return true;
  }
  return false;
}

std::string errors_of(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& error : errors) out += error + " | ";
  return out;
}

}  // namespace

TEST(SendRequest, RecordedRubyRequestIsAccepted) {
  const auto result = send(R"({"from":{"email":"mailtrap@mailtrap.io","name":"Mailtrap Test"},
    "to":[{"email":"mailtrap@railsware.com"}],"subject":"You are awesome!","text":"Congrats for sending test email with Mailtrap!",
    "attachments":[{"content":"aGVsbG8gd29ybGQ=","filename":"attachment.txt"}],"category":"Integration Test"})");
  ASSERT_TRUE(result.ok()) << errors_of(result.errors);
  const OutgoingMessage& m = *result.message;
  EXPECT_EQ(m.from.email, "mailtrap@mailtrap.io");
  EXPECT_EQ(m.from.name, "Mailtrap Test");
  ASSERT_EQ(m.to.size(), 1u);
  EXPECT_EQ(m.subject, "You are awesome!");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].content, "hello world");
  EXPECT_EQ(m.category, "Integration Test");
  EXPECT_FALSE(m.html);
}

TEST(SendRequest, DocumentedErrorsInOrder) {
  const auto result = send("{}");
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(result.message);
  const std::vector<std::string> expected = {"'from' is required", "'to', 'cc' or 'bcc' address is required",
                                             "'subject' is required", "must specify either text or html body"};
  EXPECT_EQ(result.errors, expected);
  EXPECT_EQ(parse_send_request(json::value("x")).errors,
            std::vector<std::string>{"request body must be a JSON object"});
}

TEST(SendRequest, LenientForms) {
  // nodemailer transport: empty cc/bcc arrays, empty from.name; reply_to as an array.
  const auto result = send(R"({"from":{"email":"a@example.com","name":""},"to":[{"email":"b@example.com"}],
    "cc":[],"bcc":[],"reply_to":[{"email":"r@example.com"}],"subject":"s","html":"<p>x</p>",
    "headers":{"X-Id":"1"},"custom_variables":{"user_id":"45982","n":5,"flag":true}})");
  ASSERT_TRUE(result.ok()) << errors_of(result.errors);
  EXPECT_EQ(result.message->reply_to.size(), 1u);
  EXPECT_EQ(result.message->custom_variables, R"({"user_id":"45982","n":5,"flag":true})");
  ASSERT_EQ(result.message->headers.size(), 1u);
  EXPECT_EQ(result.message->headers[0].first, "X-Id");
  const auto bcc_only = send(R"({"from":{"email":"a@example.com"},"bcc":[{"email":"b@example.com"}],
    "subject":"s","text":"t"})");
  EXPECT_TRUE(bcc_only.ok()) << errors_of(bcc_only.errors);
}

TEST(SendRequest, FieldValidation) {
  const auto result = send(R"({"from":{"email":"not-an-email"},"to":[{"email":"b@example"},{"name":"x"}],
    "subject":"s","text":"t","category":5,
    "attachments":[{"content":"!!!","filename":"a.txt"},{"content":"aGk="},{"content":"aGk=","filename":"b","disposition":"weird"}],
    "headers":{"X-Num":5,"X-Inject":"a\r\nBcc: evil@example.com","Bad Name":"v"},
    "custom_variables":{"nested":{"a":1}}})");
  ASSERT_FALSE(result.ok());
  for (const char* expected :
       {"'from' address is invalid", "'to' address is invalid", "'to' address is required",
        "'category' must be a string", "'attachments[0].content' must be base64 encoded",
        "'attachments[1].filename' is required", "'attachments[2].disposition' must be 'attachment' or 'inline'",
        "header 'X-Num' must be a string", "header 'X-Inject' must not contain line breaks",
        "header name 'Bad Name' is invalid", "'custom_variables' values must be strings, numbers or booleans"}) {
    EXPECT_TRUE(has_error(result.errors, expected)) << expected << " not in: " << errors_of(result.errors);
  }
}

TEST(SendRequest, Limits) {
  json::array to;
  for (int i = 0; i < 1001; ++i) {
    std::string email = "u";
    email += std::to_string(i);
    email += "@example.com";
    to.push_back(json::object{{"email", email}});
  }
  json::object body{{"from", json::object{{"email", "a@example.com"}}},
                    {"to", to},
                    {"subject", "s"},
                    {"text", "t"},
                    {"category", std::string(256, 'c')}};
  auto result = parse_send_request(body);
  EXPECT_TRUE(has_error(result.errors, "'to' must not contain more than 1000 addresses")) << errors_of(result.errors);
  EXPECT_TRUE(has_error(result.errors, "'category' must not exceed 255 characters"));
  body["to"].as_array().resize(1000);
  body["category"] = std::string(255, 'c');
  body["custom_variables"] = json::object{{"big", std::string(1000, 'v')}};
  result = parse_send_request(body);
  EXPECT_EQ(result.errors, std::vector<std::string>{"'custom_variables' must not exceed 1000 bytes"});
}

TEST(SendRequest, TemplateMode) {
  auto result = send(R"({"from":{"email":"a@example.com"},"to":[{"email":"b@example.com"}],
    "template_uuid":"b81aabcd-1111-2222-3333-444455556666","template_variables":{"name":"Ann","n":[1,2]}})");
  ASSERT_TRUE(result.ok()) << errors_of(result.errors);
  EXPECT_EQ(result.message->template_uuid, "b81aabcd-1111-2222-3333-444455556666");
  EXPECT_EQ(result.message->template_variables, R"({"name":"Ann","n":[1,2]})");
  result = send(R"({"from":{"email":"a@example.com"},"to":[{"email":"b@example.com"}],"template_uuid":"u",
    "subject":"s","text":"t","html":"h","category":"c"})");
  for (const char* field : {"subject", "text", "html", "category"}) {
    std::string expected = "'";
    expected += field;
    expected += "' is not allowed with 'template_uuid'";
    EXPECT_TRUE(has_error(result.errors, expected)) << errors_of(result.errors);
  }
}

TEST(BatchRequest, MergesBaseAndReportsPerRequest) {
  const auto result = parse_batch_request(json::parse(R"({
    "base":{"from":{"email":"base@example.com","name":"Base"},"subject":"Base subject","text":"base text",
            "reply_to":[{"email":"r@example.com"}]},
    "requests":[{"to":[{"email":"a@example.com"}]},
                {"to":[{"email":"b@example.com"}],"subject":"Own","text":null},
                {"subject":"no recipients"},
                "not an object"]})"));
  ASSERT_TRUE(result.ok()) << errors_of(result.errors);
  ASSERT_EQ(result.requests.size(), 4u);
  ASSERT_TRUE(result.requests[0].ok()) << errors_of(result.requests[0].errors);
  EXPECT_EQ(result.requests[0].message->from.name, "Base");
  EXPECT_EQ(result.requests[0].message->subject, "Base subject");
  ASSERT_TRUE(result.requests[1].ok());
  EXPECT_EQ(result.requests[1].message->subject, "Own");
  EXPECT_EQ(result.requests[1].message->text.value(), "base text");
  EXPECT_EQ(result.requests[2].errors, std::vector<std::string>{"'to', 'cc' or 'bcc' address is required"});
  EXPECT_FALSE(result.requests[3].ok());
}

TEST(BatchRequest, RequestLevelErrors) {
  EXPECT_EQ(parse_batch_request(json::parse("{}")).errors, std::vector<std::string>{"empty field: 'requests'"});
  EXPECT_EQ(parse_batch_request(json::parse(R"({"requests":[]})")).errors,
            std::vector<std::string>{"empty field: 'requests'"});
  EXPECT_EQ(parse_batch_request(json::parse(R"({"requests":{}})")).errors,
            std::vector<std::string>{"'requests' must be an array"});
  json::array many(501, json::object{{"to", json::array{json::object{{"email", "a@example.com"}}}}});
  const auto too_many = parse_batch_request(json::object{{"requests", many}});
  EXPECT_EQ(too_many.errors, std::vector<std::string>{"'requests' must not contain more than 500 items"});
  EXPECT_TRUE(too_many.requests.empty());
  const auto with_to = parse_batch_request(json::parse(R"({"base":{"to":[{"email":"a@example.com"}]},
    "requests":[{"to":[{"email":"b@example.com"}]}]})"));
  EXPECT_EQ(with_to.errors, std::vector<std::string>{"'base' must not contain 'to'"});
}

TEST(SendRequest, EmailValidation) {
  for (const char* good : {"a@example.com", "first.last+tag@sub.example.co.uk", "x@[127.0.0.1]", "δ@exämple.de"}) {
    EXPECT_TRUE(is_valid_email(good)) << good;
  }
  for (const char* bad :
       {"", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b..c", ".a@b.c", "a@@b.c", "<a@b.c>", "a@b.c\r\n", "a@-b c.d"}) {
    EXPECT_FALSE(is_valid_email(bad)) << bad;
  }
}
