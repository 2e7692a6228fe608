// The Email Sandbox through the official Node SDK (mailtrap 4.10.0, unmodified) against the real postroom binary:
// sandbox sending (`new MailtrapClient({ sandbox: true, testInboxId })` → POST /api/send/{inbox_id} and
// /api/batch/{inbox_id} on sandbox.api.mailtrap.io), then every call of `client.testing.messages` and
// `client.testing.attachments` on what was captured.
import { test, before, beforeEach, after } from "node:test";
import assert from "node:assert/strict";
import { startPostroom, sdkClient, api } from "./harness.mjs";

let server;
let boot;
let token; // an account admin token of the running test
let admin; // SDK client for the general API (mailtrap.io) with that token

before(async () => {
  server = await startPostroom();
  boot = server.boot;
});

// Postroom, like the real API, allows 150 requests per 10 s per token: each test gets a token of its own.
beforeEach(async () => {
  const issued = await api(server, "POST", `/api/accounts/${boot.account_id}/api_tokens`, boot.api_token, {
    name: "sandbox tests",
    resources: [{ resource_type: "account", resource_id: boot.account_id, access_level: 100 }],
  });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  token = issued.body.token;
  admin = sdkClient(server, { token, accountId: boot.account_id });
});

after(async () => {
  await server.stop();
});

// Every test captures into its own inbox, so lists and counts are its own.
const newInbox = (name) => admin.testing.inboxes.create(boot.project_id, name);

// An SDK client in sandbox mode: send() and batchSend() go to sandbox.api.mailtrap.io/api/{send,batch}/{inbox}.
function sandboxSender(inboxId, senderToken = token) {
  const client = sdkClient(server, { token: senderToken, sandbox: true, testInboxId: inboxId });
  const hosts = [];
  client.axios.interceptors.request.use((cfg) => {
    hosts.push(new URL(cfg.url).host); // runs before the redirecting interceptor (axios runs the last added first)
    return cfg;
  });
  client.hosts = hosts;
  return client;
}

// The SDK rejects with a MailtrapError whose cause is the axios error: status and body of the reply.
async function rejectsWith(promise, status, body, message) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.cause?.response?.status, status, `${error.message}`);
    assert.deepEqual(error.cause.response.data, body);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

// Plain GET returning status, Content-Type and the raw bytes (the SDK turns every body into a string).
async function download(pathname) {
  const response = await fetch(`${server.base}${pathname}`, { headers: { Authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

const SENDER = { email: "sender@example.com", name: "Sender Name" };
// A minimal valid mail to one recipient.
const simpleMail = (to, subject, extra = {}) => ({ from: SENDER, to: [{ email: to }], subject, text: subject, ...extra });
// Sends one mail into the inbox; returns the captured message's id.
async function sendOne(inboxId, mail) {
  return Number((await sandboxSender(inboxId).send(mail)).message_ids[0]);
}
const NOT_FOUND = { error: "Not Found" };

test("send: a text-only message is captured with its subject, addresses and body", async () => {
  const inbox = await newInbox("Send text");
  const sender = sandboxSender(inbox.id);
  const sent = await sender.send({
    from: SENDER,
    to: [{ email: "alice@example.com", name: "Alice Liddell" }],
    subject: "Plain hello",
    text: "Hello in plain text.\nSecond line.",
  });
  assert.deepEqual(sender.hosts, ["sandbox.api.mailtrap.io"]);
  assert.equal(sent.success, true);
  assert.equal(sent.message_ids.length, 1);
  assert.match(sent.message_ids[0], /^\d+$/);
  const id = Number(sent.message_ids[0]);

  const messages = admin.testing.messages;
  const list = await messages.get(inbox.id);
  assert.equal(list.length, 1);
  const [m] = list;
  assert.equal(m.id, id);
  assert.equal(m.inbox_id, inbox.id);
  assert.equal(m.subject, "Plain hello");
  assert.equal(m.from_email, "sender@example.com");
  assert.equal(m.from_name, "Sender Name");
  assert.equal(m.to_email, "alice@example.com");
  assert.equal(m.to_name, "Alice Liddell");
  assert.equal(m.is_read, false);
  assert.equal(m.html_body_size, 0);
  assert.equal(m.template_id, null);
  assert.equal(m.blacklists_report_info, false);
  assert.deepEqual(m.smtp_information, { ok: false }, "captured over HTTP, not SMTP");
  assert.equal(m.download_path, `/api/accounts/${boot.account_id}/inboxes/${inbox.id}/messages/${id}/body.eml`);

  // Line breaks become CRLF; a single-part body keeps the CRLF that ends the message (see the HTML test).
  assert.equal(await messages.getTextMessage(inbox.id, id), "Hello in plain text.\r\nSecond line.\r\n");
  assert.equal(m.text_body_size, Buffer.byteLength("Hello in plain text.\r\nSecond line.\r\n"));
  const missing = { error: "This message has no such part" };
  await rejectsWith(messages.getHtmlMessage(inbox.id, id), 409, missing);
  await rejectsWith(messages.getMessageHtmlSource(inbox.id, id), 409, missing);

  const raw = await messages.getRawMessage(inbox.id, id);
  assert.equal(Buffer.byteLength(raw), m.email_size);
  assert.equal(m.human_size, `${m.email_size} Bytes`);
  assert.match(raw, /^From: Sender Name <sender@example\.com>\r$/m);
  assert.match(raw, /^To: Alice Liddell <alice@example\.com>\r$/m);
  assert.match(raw, /^Subject: Plain hello\r$/m);
  assert.equal(await messages.getMessageAsEml(inbox.id, id), raw);
});

test("send: an HTML-only message; the preview drops scripts, the source keeps them", async () => {
  const inbox = await newInbox("Send html");
  const html = '<p>Hello <b>HTML</b> world</p><script>alert("x")</script>';
  const sent = await sandboxSender(inbox.id).send({ from: SENDER, to: [{ email: "bob@example.com" }], subject: "Html", html });
  const id = Number(sent.message_ids[0]);
  const messages = admin.testing.messages;
  const m = await messages.showEmailMessage(inbox.id, id);
  assert.equal(m.subject, "Html");
  assert.equal(m.to_name, "");
  assert.equal(m.text_body_size, 0);
  // A single-part message's body runs to the line break that ends the message (RFC 5322), so it keeps one CRLF
  // the JSON did not have; inside a multipart message (the tests below) the part is exactly what was sent.
  assert.equal(m.html_body_size, Buffer.byteLength(html) + 2);

  assert.equal(await messages.getMessageHtmlSource(inbox.id, id), `${html}\r\n`);
  const preview = await messages.getHtmlMessage(inbox.id, id);
  assert.match(preview, /<p>Hello <b>HTML<\/b> world<\/p>/);
  assert.doesNotMatch(preview, /script|alert/);
  await rejectsWith(messages.getTextMessage(inbox.id, id), 409, { error: "This message has no such part" });

  const base = `/api/accounts/${boot.account_id}/inboxes/${inbox.id}/messages/${id}`;
  const types = {};
  for (const part of ["body.html", "body.htmlsource", "body.txt", "body.raw", "body.eml"]) {
    const { status, contentType } = await download(`${base}/${part}`);
    types[part] = [status, contentType];
  }
  assert.deepEqual(types, {
    "body.html": [200, "text/html; charset=utf-8"],
    "body.htmlsource": [200, "text/html; charset=utf-8"],
    "body.txt": [409, "application/json; charset=utf-8"],
    "body.raw": [200, "text/plain; charset=utf-8"],
    "body.eml": [200, "message/rfc822"],
  });
});

test("send: text and html, cc/bcc, reply-to, custom headers, category and custom variables", async () => {
  const inbox = await newInbox("Send everything");
  const sent = await sandboxSender(inbox.id).send({
    from: SENDER,
    to: [{ email: "to1@example.com", name: "To One" }, { email: "to2@example.com" }],
    cc: [{ email: "cc@example.com", name: "Carbon Copy" }],
    bcc: [{ email: "hidden@example.com" }],
    reply_to: { email: "replies@example.com", name: "Replies" },
    subject: "Everything at once",
    text: "The text part",
    html: "<h1>The html part</h1>",
    category: "Welcome flow",
    headers: { "X-Campaign": "spring-2026", "X-Priority": "1" },
    custom_variables: { user_id: "45982", batch_id: "PSJ-12" },
  });
  assert.equal(sent.success, true);
  assert.equal(sent.message_ids.length, 4, "one id per recipient: to, cc, bcc");
  assert.equal(new Set(sent.message_ids).size, 1, "the sandbox keeps one copy");
  const id = Number(sent.message_ids[0]);
  const messages = admin.testing.messages;

  const m = await messages.showEmailMessage(inbox.id, id);
  assert.equal(m.subject, "Everything at once");
  assert.equal(m.to_email, "to1@example.com");
  assert.equal(m.to_name, "To One");
  assert.equal(m.text_body_size, "The text part".length);
  assert.equal(m.html_body_size, "<h1>The html part</h1>".length);
  assert.equal(await messages.getTextMessage(inbox.id, id), "The text part");
  assert.equal(await messages.getMessageHtmlSource(inbox.id, id), "<h1>The html part</h1>");
  assert.match(await messages.getHtmlMessage(inbox.id, id), /<h1>The html part<\/h1>/);

  const raw = await messages.getRawMessage(inbox.id, id);
  assert.match(raw, /^X-MT-Category: Welcome flow\r$/m);
  assert.match(raw, /^X-MT-Custom-Variables: \{"user_id":"45982","batch_id":"PSJ-12"\}\r$/m);
  assert.match(raw, /^X-Campaign: spring-2026\r$/m);
  assert.match(raw, /^X-Priority: 1\r$/m);
  assert.match(raw, /^To: To One <to1@example\.com>, to2@example\.com\r$/m);
  assert.match(raw, /^Cc: Carbon Copy <cc@example\.com>\r$/m);
  assert.match(raw, /^Reply-To: Replies <replies@example\.com>\r$/m);
  assert.doesNotMatch(raw, /hidden@example\.com/, "Bcc is never written into the message");
  assert.match(raw, /^Content-Type: multipart\/alternative;/m);
  assert.equal(await messages.getMessageAsEml(inbox.id, id), raw);

  const { headers } = await messages.getMailHeaders(inbox.id, id);
  assert.equal(headers.subject, "Everything at once");
  assert.equal(headers.from, "Sender Name <sender@example.com>");
  assert.equal(headers.to, "To One <to1@example.com>, to2@example.com");
  assert.equal(headers.cc, "Carbon Copy <cc@example.com>");
  assert.equal(headers.bcc, "hidden@example.com", "Bcc comes from the envelope");
  assert.equal(headers.reply_to, "Replies <replies@example.com>");
  assert.equal(headers.mime_version, "1.0");
  assert.equal(headers.x_mt_category, "Welcome flow");
  assert.equal(headers.x_campaign, "spring-2026");
  assert.match(headers.content_type, /^multipart\/alternative;/);
  assert.ok(Date.parse(headers.date) > Date.now() - 600_000, headers.date);
  assert.ok(Object.values(headers).every((v) => typeof v === "string" && !/[\r\n]/.test(v)), "unfolded strings");
});

test("send: attachments, regular and inline with a content id, downloaded byte for byte", async () => {
  const inbox = await newInbox("Send attachments");
  const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256)); // every byte value occurs
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
  const sent = await sandboxSender(inbox.id).send({
    from: SENDER,
    to: [{ email: "files@example.com" }],
    subject: "With files",
    text: "See attached",
    html: '<p>Logo: <img src="cid:logo-cid"></p>',
    attachments: [
      { content: binary, filename: "report.bin", type: "application/octet-stream" }, // the SDK base64-encodes a Buffer
      { content: "aGVsbG8gd29ybGQ=", filename: "hello.txt", type: "text/plain" }, // a string is sent as is
      { content: png, filename: "logo.png", type: "image/png", disposition: "inline", content_id: "logo-cid" },
    ],
  });
  const id = Number(sent.message_ids[0]);
  const list = await admin.testing.attachments.getList(inbox.id, id);
  assert.deepEqual(list.map((a) => a.filename).sort(), ["hello.txt", "logo.png", "report.bin"]);
  const byName = Object.fromEntries(list.map((a) => [a.filename, a]));

  const expected = {
    "report.bin": { bytes: binary, type: "application/octet-stream", attachment_type: "attachment", content_id: "" },
    "hello.txt": { bytes: Buffer.from("hello world"), type: "text/plain", attachment_type: "attachment", content_id: "" },
    "logo.png": { bytes: png, type: "image/png", attachment_type: "inline", content_id: "logo-cid" },
  };
  for (const [filename, want] of Object.entries(expected)) {
    const a = byName[filename];
    assert.equal(a.message_id, id);
    assert.equal(a.attachment_type, want.attachment_type, filename);
    assert.equal(a.content_type, want.type, filename);
    assert.equal(a.content_id, want.content_id, filename);
    assert.equal(a.transfer_encoding, "base64");
    assert.equal(a.attachment_size, want.bytes.length, filename);
    assert.equal(a.attachment_human_size, `${want.bytes.length} Bytes`);
    assert.deepEqual(await admin.testing.attachments.get(inbox.id, id, a.id), a);
    const file = await download(a.download_path);
    assert.equal(file.status, 200, filename);
    assert.equal(file.contentType, want.type);
    assert.ok(file.bytes.equals(want.bytes), `${filename} downloads byte for byte`);
  }

  const base = `/api/accounts/${boot.account_id}/inboxes/${inbox.id}/messages/${id}/attachments`;
  const inline = await api(server, "GET", `${base}?attachment_type=inline`, token);
  assert.deepEqual(inline.body.map((a) => a.filename), ["logo.png"]);
  const regular = await api(server, "GET", `${base}?attachment_type=attachment`, token);
  assert.deepEqual(regular.body.map((a) => a.filename).sort(), ["hello.txt", "report.bin"]);

  const raw = await admin.testing.messages.getRawMessage(inbox.id, id);
  assert.match(raw, /^Content-Type: multipart\/mixed;/m);
  assert.match(raw, /^Content-Type: multipart\/related;/m, "the inline image travels with the html");
  assert.match(raw, /^Content-ID: <logo-cid>\r$/m);
  assert.match(await admin.testing.messages.getMessageHtmlSource(inbox.id, id), /cid:logo-cid/);

  await rejectsWith(admin.testing.attachments.get(inbox.id, id, 999999999), 404, NOT_FOUND, "Not Found");
  await rejectsWith(admin.testing.attachments.getList(inbox.id, 999999999), 404, NOT_FOUND, "Not Found");
});

test("batch: the base is merged into every request, request fields win, failures are reported per request", async () => {
  const inbox = await newInbox("Batch");
  const sender = sandboxSender(inbox.id);
  const result = await sender.batchSend({
    base: { from: SENDER, subject: "Base subject", text: "Base text", category: "batch-category" },
    requests: [
      // The SDK types a batch request's reply_to as an array.
      { to: [{ email: "first@example.com", name: "First" }], reply_to: [{ email: "answers@example.com" }] },
      { to: [{ email: "second@example.com" }], subject: "Own subject", html: "<p>Own html</p>" },
      { cc: [{ email: "third@example.com" }], from: { email: "other@example.com", name: "Other" } },
      { to: [{ email: "not-an-address" }] },
      { to: [] },
    ],
  });
  assert.deepEqual(sender.hosts, ["sandbox.api.mailtrap.io"]);
  assert.equal(result.success, true);
  assert.equal(result.responses.length, 5);
  const [first, second, third, invalid, empty] = result.responses;
  for (const ok of [first, second, third]) {
    assert.equal(ok.success, true);
    assert.equal(ok.message_ids.length, 1);
  }
  assert.deepEqual(invalid, { success: false, errors: ["'to' address is invalid"] });
  assert.deepEqual(empty, { success: false, errors: ["'to', 'cc' or 'bcc' address is required"] });

  const messages = admin.testing.messages;
  const list = await messages.get(inbox.id);
  assert.equal(list.length, 3, "failed requests capture nothing");
  const byId = Object.fromEntries(list.map((m) => [m.id, m]));
  const m1 = byId[Number(first.message_ids[0])];
  const m2 = byId[Number(second.message_ids[0])];
  const m3 = byId[Number(third.message_ids[0])];
  assert.deepEqual(
    [m1.subject, m1.to_email, m1.to_name, m1.from_email],
    ["Base subject", "first@example.com", "First", "sender@example.com"],
  );
  assert.equal(await messages.getTextMessage(inbox.id, m1.id), "Base text\r\n", "single-part: ends with the CRLF");
  assert.equal((await messages.getMailHeaders(inbox.id, m1.id)).headers.reply_to, "answers@example.com");
  await rejectsWith(messages.getHtmlMessage(inbox.id, m1.id), 409, { error: "This message has no such part" });
  assert.equal(m2.subject, "Own subject");
  assert.equal(await messages.getTextMessage(inbox.id, m2.id), "Base text", "base text kept beside the request's html");
  assert.equal(await messages.getMessageHtmlSource(inbox.id, m2.id), "<p>Own html</p>");
  assert.deepEqual([m3.from_email, m3.from_name, m3.to_email], ["other@example.com", "Other", ""]);
  assert.equal((await messages.getMailHeaders(inbox.id, m3.id)).headers.cc, "third@example.com");
  for (const m of [m1, m2, m3]) assert.match(await messages.getRawMessage(inbox.id, m.id), /^X-MT-Category: batch-category\r$/m);
});

test("batch: a base without from and subject fails every request as the real API does", async () => {
  const inbox = await newInbox("Batch errors");
  const result = await sandboxSender(inbox.id).batchSend({
    base: { text: "Batch Text" },
    requests: [{ to: [{ email: "to@mail.com", name: "recipient1" }] }, { to: [{ email: "to@mail.com", name: "recipient2" }] }],
  });
  const failed = { success: false, errors: ["'from' is required", "'subject' is required"] };
  assert.deepEqual(result, { success: true, responses: [failed, failed] });
  assert.deepEqual(await admin.testing.messages.get(inbox.id), []);
});

test("send and batch: validation errors in the sending shape, nothing captured", async () => {
  const inbox = await newInbox("Validation");
  const sender = sandboxSender(inbox.id);
  await rejectsWith(
    sender.send({}),
    400,
    {
      success: false,
      errors: [
        "'from' is required",
        "'to', 'cc' or 'bcc' address is required",
        "'subject' is required",
        "must specify either text or html body",
      ],
    },
    "'from' is required,'to', 'cc' or 'bcc' address is required,'subject' is required,must specify either text or html body",
  );
  // The recorded real-API case: no subject and no text.
  await rejectsWith(
    sender.send({
      from: { email: "mailtrap@mailtrap.io", name: "Mailtrap Test" },
      to: [{ email: "mailtrap@railsware.com" }],
      attachments: [{ content: "aGVsbG8gd29ybGQ=", filename: "attachment.txt" }],
      category: "Integration Test",
    }),
    400,
    { success: false, errors: ["'subject' is required", "must specify either text or html body"] },
  );
  await rejectsWith(sender.send(simpleMail("a@example.com", "s", { attachments: [{ filename: "x.txt" }] })), 400, {
    success: false,
    errors: ["'attachments[0].content' is required"],
  });
  await rejectsWith(sender.batchSend({ requests: [] }), 400, { success: false, errors: ["empty field: 'requests'"] });
  const recipientsInBase = { base: { to: [{ email: "a@example.com" }] }, requests: [{ to: [{ email: "b@example.com" }] }] };
  await rejectsWith(sender.batchSend(recipientsInBase), 400, {
    success: false,
    errors: ["'base' must not contain 'to'"],
  });
  assert.deepEqual(await admin.testing.messages.get(inbox.id), []);
});

test("send and batch: a bad token is 401, an unknown inbox 404, both in the sending shape", async () => {
  const inbox = await newInbox("Auth");
  const mail = { from: SENDER, to: [{ email: "a@example.com" }], subject: "s", text: "t" };
  const wrong = sandboxSender(inbox.id, "0".repeat(64));
  const unauthorized = { success: false, errors: ["Unauthorized"] };
  await rejectsWith(wrong.send(mail), 401, unauthorized, "Unauthorized");
  await rejectsWith(wrong.batchSend({ requests: [{ to: [{ email: "a@example.com" }] }], base: mail }), 401, unauthorized);
  await rejectsWith(sandboxSender(999999999).send(mail), 404, { success: false, errors: ["Not Found"] }, "Not Found");
  assert.deepEqual(await admin.testing.messages.get(inbox.id), []);
  // The general API keeps its own 401 shape.
  const wrongGeneral = sdkClient(server, { token: "0".repeat(64), accountId: boot.account_id });
  await rejectsWith(wrongGeneral.testing.messages.get(inbox.id), 401, { error: "Incorrect API token" });
});

test("messages: list pages of 30, newest first; search; last_id paging", async () => {
  const inbox = await newInbox("Paging");
  const requests = Array.from({ length: 35 }, (_, i) => ({
    to: [{ email: `user${i}@example.com`, name: `User ${i}` }],
    subject: `Paging ${i} token${i}x`,
  }));
  const result = await sandboxSender(inbox.id).batchSend({ base: { from: SENDER, text: "paging body" }, requests });
  assert.ok(result.responses.every((r) => r.success));
  const ids = result.responses.map((r) => Number(r.message_ids[0]));
  const newestFirst = [...ids].sort((a, b) => b - a);
  const messages = admin.testing.messages;

  const page1 = await messages.get(inbox.id);
  assert.deepEqual(page1.map((m) => m.id), newestFirst.slice(0, 30));
  const rest = await messages.get(inbox.id, { last_id: page1.at(-1).id });
  assert.deepEqual(rest.map((m) => m.id), newestFirst.slice(30));
  assert.deepEqual(await messages.get(inbox.id, { last_id: newestFirst.at(-1) }), []);
  assert.deepEqual((await messages.get(inbox.id, { page: 2 })).map((m) => m.id), newestFirst.slice(30));
  assert.deepEqual(await messages.get(inbox.id, { page: 3 }), []);

  const found = await messages.get(inbox.id, { search: "token12x" });
  assert.deepEqual(found.map((m) => [m.subject, m.to_email]), [["Paging 12 token12x", "user12@example.com"]]);
  assert.deepEqual((await messages.get(inbox.id, { search: "user7@example.com" })).map((m) => m.id), [ids[7]]);
  assert.equal((await messages.get(inbox.id, { search: "Paging" })).length, 30, "search results are paged too");
  const olderMatches = await messages.get(inbox.id, { search: "Paging", last_id: ids[3] });
  assert.deepEqual(olderMatches.map((m) => m.id), [ids[2], ids[1], ids[0]]);
  assert.deepEqual(await messages.get(inbox.id, { search: "token12x", last_id: ids[12] }), [], "last_id is exclusive");
  assert.deepEqual(await messages.get(inbox.id, { search: "no-such-words-anywhere" }), []);
  // Wildcards and query-syntax characters are searched for literally, never an error (a lone '"' opens an empty
  // phrase, which filters nothing).
  for (const search of ["%", "_", "\\", '"zzq', "*", "(", ")", "AND", "NEAR(", "a:b", "^x", "'", "%%%", "zz_q@"])
    assert.deepEqual(await messages.get(inbox.id, { search }), [], `search ${JSON.stringify(search)}`);
});

test("messages: show, mark read and unread, delete returns the message, then 404", async () => {
  const inbox = await newInbox("Lifecycle");
  const keep = await sendOne(inbox.id, simpleMail("k@example.com", "Keep"));
  const drop = await sendOne(inbox.id, simpleMail("d@example.com", "Drop"));
  const messages = admin.testing.messages;

  const shown = await messages.showEmailMessage(inbox.id, drop);
  assert.deepEqual(shown, (await messages.get(inbox.id)).find((m) => m.id === drop));
  const read = await messages.updateMessage(inbox.id, drop, { isRead: true });
  assert.equal(read.is_read, true);
  assert.equal(read.id, drop);
  assert.equal((await messages.showEmailMessage(inbox.id, drop)).is_read, true);
  assert.equal((await messages.showEmailMessage(inbox.id, keep)).is_read, false, "only that message");
  // The SDK sends {"message":{}} when isRead is not given: a PATCH that names nothing changes nothing.
  assert.equal((await messages.updateMessage(inbox.id, drop, {})).is_read, true);
  assert.equal((await messages.showEmailMessage(inbox.id, drop)).is_read, true);
  assert.equal((await messages.updateMessage(inbox.id, drop, { isRead: false })).is_read, false);

  const deleted = await messages.deleteMessage(inbox.id, drop);
  assert.equal(deleted.id, drop);
  assert.equal(deleted.subject, "Drop");
  assert.equal(deleted.to_email, "d@example.com");
  await rejectsWith(messages.showEmailMessage(inbox.id, drop), 404, NOT_FOUND, "Not Found");
  await rejectsWith(messages.deleteMessage(inbox.id, drop), 404, NOT_FOUND);
  await rejectsWith(messages.updateMessage(inbox.id, drop, { isRead: true }), 404, NOT_FOUND);
  await rejectsWith(messages.getRawMessage(inbox.id, drop), 404, NOT_FOUND);
  await rejectsWith(messages.getMailHeaders(inbox.id, drop), 404, NOT_FOUND);
  assert.deepEqual((await messages.get(inbox.id)).map((m) => m.id), [keep]);

  // A message is reached only through its own inbox.
  const other = await newInbox("Elsewhere");
  await rejectsWith(messages.showEmailMessage(other.id, keep), 404, NOT_FOUND);
  await rejectsWith(messages.deleteMessage(other.id, keep), 404, NOT_FOUND);
  assert.equal((await messages.showEmailMessage(inbox.id, keep)).subject, "Keep");
});

test("send: non-ASCII subject, names, bodies and attachment names survive the round trip", async () => {
  const inbox = await newInbox("Unicode");
  const mail = {
    from: { email: "zoe@example.com", name: "Zoë Ångström" },
    to: [{ email: "dmitry@example.com", name: "Дмитрий Петров" }],
    subject: "Grüße aus Köln — 👋 ".repeat(4).trim(), // long enough to be folded into several encoded words
    text: "Привет, мир! Ünïcödé text.",
    html: "<p>日本語のテキスト</p>",
    attachments: [{ content: Buffer.from("%PDF-1.4 résumé"), filename: "résumé 2026.pdf", type: "application/pdf" }],
  };
  const id = Number((await sandboxSender(inbox.id).send(mail)).message_ids[0]);
  const messages = admin.testing.messages;
  const m = await messages.showEmailMessage(inbox.id, id);
  assert.equal(m.subject, mail.subject);
  assert.equal(m.from_name, "Zoë Ångström");
  assert.equal(m.to_name, "Дмитрий Петров");
  assert.equal(await messages.getTextMessage(inbox.id, id), mail.text);
  assert.equal(await messages.getMessageHtmlSource(inbox.id, id), mail.html);
  const raw = await messages.getRawMessage(inbox.id, id);
  assert.ok(/^[\x00-\x7f]*$/.test(raw), "the captured message itself is 7-bit");
  const { headers } = await messages.getMailHeaders(inbox.id, id);
  assert.equal(headers.subject, mail.subject, "headers are reported decoded");
  const [attachment] = await admin.testing.attachments.getList(inbox.id, id);
  assert.equal(attachment.filename, "résumé 2026.pdf");
  const file = await download(attachment.download_path);
  assert.ok(file.bytes.equals(Buffer.from("%PDF-1.4 résumé")));
  assert.deepEqual((await messages.get(inbox.id, { search: "Köln" })).map((x) => x.id), [id]);
  assert.deepEqual((await messages.get(inbox.id, { search: "Дмитрий" })).map((x) => x.id), [id]);
});

test("inbox counters follow captures, reads and deletes", async () => {
  const inbox = await newInbox("Counters");
  const first = await sendOne(inbox.id, simpleMail("c@example.com", "one"));
  const second = await sendOne(inbox.id, simpleMail("c@example.com", "two"));
  const inboxes = admin.testing.inboxes;
  let now = await inboxes.getInboxAttributes(inbox.id);
  assert.deepEqual([now.emails_count, now.emails_unread_count], [2, 2]);
  assert.ok(now.sent_messages_count >= 2, `sent_messages_count ${now.sent_messages_count}`);
  assert.notEqual(now.last_message_sent_at, null);
  await admin.testing.messages.updateMessage(inbox.id, first, { isRead: true });
  now = await inboxes.getInboxAttributes(inbox.id);
  assert.deepEqual([now.emails_count, now.emails_unread_count], [2, 1]);
  await admin.testing.messages.deleteMessage(inbox.id, second);
  now = await inboxes.getInboxAttributes(inbox.id);
  assert.deepEqual([now.emails_count, now.emails_unread_count], [1, 0]);
});

test("send: a message above the size limit is 413 in the sending shape, nothing captured", async () => {
  const inbox = await newInbox("Too big");
  const limit = (await admin.testing.inboxes.getInboxAttributes(inbox.id)).max_message_size;
  assert.ok(limit > 0 && limit <= 50 * 1024 * 1024, `max_message_size ${limit}`);
  const big = Buffer.alloc(limit + 1, 0x61);
  await assert.rejects(
    sandboxSender(inbox.id).send(simpleMail("a@example.com", "big", { attachments: [{ content: big, filename: "big.txt" }] })),
    (error) => {
      assert.equal(error.cause?.response?.status, 413, error.message);
      assert.equal(error.cause.response.data.success, false);
      assert.equal(error.cause.response.data.errors.length, 1);
      assert.match(error.cause.response.data.errors[0], /too big/i);
      return true;
    },
  );
  assert.deepEqual(await admin.testing.messages.get(inbox.id), []);
});

test("attachments: human sizes read like the real API's, two significant digits", async () => {
  const inbox = await newInbox("Human sizes");
  // Sizes and texts as recorded from the real API (cassettes), plus round values.
  const want = { 9: "9 Bytes", 1024: "1 KB", 1213: "1.2 KB", 1536: "1.5 KB", 1704: "1.7 KB", 11842: "12 KB", 2034337: "1.9 MB" };
  const attachments = Object.keys(want).map((size) => ({ content: Buffer.alloc(Number(size), 0x41), filename: `${size}.bin` }));
  const id = await sendOne(inbox.id, simpleMail("s@example.com", "sizes", { attachments }));
  const list = await admin.testing.attachments.getList(inbox.id, id);
  const got = Object.fromEntries(list.map((a) => [a.attachment_size, a.attachment_human_size]));
  assert.deepEqual(got, want);
  const m = await admin.testing.messages.showEmailMessage(inbox.id, id);
  assert.match(m.human_size, /^2(\.\d)? MB$/, `${m.email_size} bytes → ${m.human_size}`);
});

test("access: an inbox viewer reads but cannot send or change; another inbox's admin reaches nothing", async () => {
  const inbox = await newInbox("Access");
  const id = await sendOne(inbox.id, simpleMail("v@example.com", "Seen"));
  const issue = async (name, inboxId, level) => {
    const issued = await api(server, "POST", `/api/accounts/${boot.account_id}/api_tokens`, boot.api_token, {
      name,
      resources: [{ resource_type: "inbox", resource_id: inboxId, access_level: level }],
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    return issued.body.token;
  };
  const viewerToken = await issue("inbox viewer", inbox.id, 10);
  const viewer = sdkClient(server, { token: viewerToken, accountId: boot.account_id });
  assert.deepEqual((await viewer.testing.messages.get(inbox.id)).map((m) => m.id), [id]);
  assert.equal((await viewer.testing.messages.showEmailMessage(inbox.id, id)).subject, "Seen");
  const mail = simpleMail("v@example.com", "s");
  await rejectsWith(sandboxSender(inbox.id, viewerToken).send(mail), 403, { success: false, errors: ["Forbidden"] });
  const forbidden = { errors: "Account access forbidden" };
  await rejectsWith(viewer.testing.messages.deleteMessage(inbox.id, id), 403, forbidden);
  await rejectsWith(viewer.testing.messages.updateMessage(inbox.id, id, { isRead: true }), 403, forbidden);

  const elsewhere = await newInbox("Access elsewhere");
  const otherToken = await issue("other inbox admin", elsewhere.id, 100);
  const other = sdkClient(server, { token: otherToken, accountId: boot.account_id });
  const refused = (e) => [403, 404].includes(e.cause?.response?.status);
  await assert.rejects(other.testing.messages.get(inbox.id), refused);
  await assert.rejects(other.testing.messages.showEmailMessage(inbox.id, id), refused);
  await assert.rejects(sandboxSender(inbox.id, otherToken).send(mail), (e) => refused(e) && e.cause.response.data.success === false);
  assert.equal((await sandboxSender(elsewhere.id, otherToken).send(mail)).success, true, "its own inbox is fine");
  assert.deepEqual((await admin.testing.messages.get(inbox.id)).map((m) => [m.id, m.is_read]), [[id, false]], "unchanged");
});
