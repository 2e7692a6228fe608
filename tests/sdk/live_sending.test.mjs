// Live sending through the official Node SDK (mailtrap 4.10.0, unmodified) and nodemailer against the real
// postroom binary: client.send / client.batchSend on the transactional stream, a bulk client (bulk: true) on the
// bulk stream, client.emailLogs.getList / get, client.suppressions.getList / create / delete, the SDK's nodemailer
// MailtrapTransport, and plain nodemailer SMTP submission (STARTTLS, AUTH as "api" with the token). Mail goes out
// from the account's demo domain to the bootstrap admin (the only recipient the demo domain allows) through a
// --relay to Postfix's smtp-sink, whose dumps show what was delivered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import nodemailer from "nodemailer";
import { startPostroom, sdkClient, api, freePort, MailtrapClient } from "./harness.mjs";

const require = createRequire(import.meta.url);
const { MailtrapTransport } = require("mailtrap");

const SMTP_SINK = "/usr/sbin/smtp-sink";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const skip = existsSync(SMTP_SINK) ? false : "Postfix's smtp-sink is not installed";

let server;
let boot;
let client;
let bulkClient;
let sink;
let sinkDir;
let smtpPort;
let demo; // the demo sending domain
let admin; // the bootstrap admin's address: the demo domain's allowed recipient

async function waitListening(port) {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

// A client on the bulk host: like the harness's, but the Host header names bulk.api.mailtrap.io, which is how
// one Postroom port tells the bulk stream from the transactional one (X-Mailtrap-Host is not consulted).
function bulkSdkClient(options) {
  const c = new MailtrapClient({ ...options, bulk: true });
  c.axios.interceptors.request.use((cfg) => {
    const url = new URL(cfg.url);
    cfg.headers.Host = url.host;
    cfg.url = `${server.base}${url.pathname}${url.search}`;
    return cfg;
  });
  return c;
}

function redirect(sdk) {
  sdk.axios.interceptors.request.use((cfg) => {
    const url = new URL(cfg.url);
    cfg.headers["X-Mailtrap-Host"] = url.host;
    cfg.url = `${server.base}${url.pathname}${url.search}`;
    return cfg;
  });
  return sdk;
}

// smtp-sink's dumps: its X-* envelope lines and Received header, then the message (LF line ends).
function sinkMessages() {
  return readdirSync(sinkDir)
    .map((name) => readFileSync(path.join(sinkDir, name), "latin1"))
    .filter((text) => /\nReceived: from /.test(text));
}

async function delivered(marker, count = 1) {
  for (let i = 0; i < 200; i++) {
    const found = sinkMessages().filter((m) => m.includes(marker));
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return sinkMessages().filter((m) => m.includes(marker));
}

async function waitLog(id, done = (m) => m.status !== "enqueued") {
  for (let i = 0; ; i++) {
    const message = await client.emailLogs.get(id);
    if (done(message)) return message;
    if (i > 200) assert.fail(`message ${id} stayed ${message.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tag = () => Math.random().toString(16).slice(2, 10);

before(async () => {
  if (skip) return;
  sinkDir = mkdtempSync(path.join(tmpdir(), "postroom-sdk-sink-"));
  chmodSync(sinkDir, 0o777);
  const sinkPort = await freePort();
  sink = spawn(SMTP_SINK, ["-u", "root", "-d", path.join(sinkDir, "%H%M%S."), `127.0.0.1:${sinkPort}`, "64"], {
    stdio: "ignore",
  });
  await waitListening(sinkPort);
  server = await startPostroom([
    "--dns-server", `127.0.0.1:${await freePort()}`, // no DNS lookups leave the machine
    "--relay", `smtp://127.0.0.1:${sinkPort}`, "--relay-tls", "none",
    "--retry-schedule", "1,1,1",
    "--rate-limit-requests", "100000",
  ]);
  smtpPort = server.submissionPort;
  await waitListening(smtpPort);
  boot = server.boot;
  admin = boot.admin_email;
  client = sdkClient(server, { token: boot.api_token, accountId: boot.account_id });
  bulkClient = bulkSdkClient({ token: boot.api_token, accountId: boot.account_id });
  const domains = await api(server, "GET", `/api/accounts/${boot.account_id}/sending_domains`, boot.api_token);
  demo = domains.body.data.find((d) => d.demo);
  assert.ok(demo, "the account has its demo domain");
});

after(async () => {
  if (server) await server.stop();
  if (sink) {
    sink.kill("SIGKILL");
    rmSync(sinkDir, { recursive: true, force: true });
  }
});

const from = () => ({ email: `sdk@${demo.domain_name}`, name: "SDK Sender" });

test("client.send: delivered, with its email log, events and raw message", { skip }, async () => {
  const t = tag();
  const response = await client.send({
    from: from(),
    to: [{ email: admin, name: "Admin" }],
    subject: `SDK send ${t}`,
    text: "Hello from the Node SDK",
    html: "<p>Hello from the <b>Node SDK</b></p>",
    category: "SDK",
    custom_variables: { user_id: "45982", flag: true },
    headers: { "X-Sdk-Test": t },
  });
  assert.equal(response.success, true);
  assert.equal(response.message_ids.length, 1);
  assert.match(response.message_ids[0], UUID);
  const message = await waitLog(response.message_ids[0]);
  assert.equal(message.status, "delivered", JSON.stringify(message));
  assert.equal(message.message_id, response.message_ids[0]);
  assert.equal(message.to, admin);
  assert.equal(message.from, `sdk@${demo.domain_name}`);
  assert.equal(message.subject, `SDK send ${t}`);
  assert.equal(message.category, "SDK");
  assert.deepEqual(message.custom_variables, { user_id: "45982", flag: true });
  assert.equal(message.sending_stream, "transactional");
  assert.equal(message.sending_domain_id, demo.id);
  assert.deepEqual(message.events.map((e) => e.event_type), ["delivery"]);
  assert.equal(message.events[0].details.recipient_mx, "127.0.0.1");
  // raw_message_url: absolute, signed, fetchable without a token (as the MCP server does).
  const raw = await fetch(message.raw_message_url);
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get("content-type"), "message/rfc822");
  const rawText = await raw.text();
  assert.match(rawText, new RegExp(`Subject: SDK send ${t}`));
  assert.match(rawText, new RegExp(`X-Sdk-Test: ${t}`));
  const [dump] = await delivered(`SDK send ${t}`);
  assert.ok(dump, "smtp-sink got it");
  assert.match(dump, /^DKIM-Signature: /m);
  assert.match(dump, new RegExp(`X-Rcpt-Args: <${admin}>`));
  assert.doesNotMatch(dump, /45982/, "custom variables are not delivered");
  const tampered = new URL(message.raw_message_url);
  tampered.searchParams.set("signature", "0".repeat(40));
  assert.equal((await fetch(tampered)).status, 403);
});

test("client.batchSend: one response per request, base fields inherited", { skip }, async () => {
  const t = tag();
  const response = await client.batchSend({
    base: { from: from(), subject: `SDK batch ${t}`, text: "Batch text", category: "Batch" },
    requests: [
      { to: [{ email: admin }] },
      { to: [{ email: admin }], subject: `SDK batch override ${t}`, custom_variables: { n: "2" } },
      { to: [{ email: "stranger@example.com" }] },
    ],
  });
  assert.equal(response.success, true);
  assert.deepEqual(response.responses.map((r) => r.success), [true, true, false]);
  assert.match(response.responses[2].errors.join(" "), /demo domain/);
  const first = await waitLog(response.responses[0].message_ids[0]);
  const second = await waitLog(response.responses[1].message_ids[0]);
  assert.equal(first.subject, `SDK batch ${t}`);
  assert.equal(second.subject, `SDK batch override ${t}`);
  assert.deepEqual(second.custom_variables, { n: "2" });
  assert.equal(first.category, "Batch");
  assert.equal(first.status, "delivered");
  assert.equal(second.status, "delivered");
  assert.equal((await delivered(`SDK batch ${t}`)).length, 1);
  assert.equal((await delivered(`SDK batch override ${t}`)).length, 1);
});

test("bulk client: the bulk stream, with List-Unsubscribe and the footer", { skip }, async () => {
  const t = tag();
  const response = await bulkClient.send({
    from: from(),
    to: [{ email: admin }],
    subject: `SDK bulk ${t}`,
    html: "<p>Our news</p>",
  });
  const [id] = response.message_ids;
  const message = await waitLog(id);
  assert.equal(message.sending_stream, "bulk");
  assert.equal(message.status, "delivered");
  const [folded] = await delivered(`SDK bulk ${t}`);
  const dump = folded.replace(/\n(?=[ \t])/g, ""); // unfolded header lines
  assert.match(dump, new RegExp(`^List-Unsubscribe: <mailto:unsubscribe\\+${id}@[^>]+>, <${server.base}/unsubscribe/${id}>`, "m"));
  assert.match(dump, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
  assert.ok(dump.includes(`/unsubscribe/${id}`));
  const batch = await bulkClient.batchSend({
    base: { from: from(), subject: `SDK bulk batch ${t}`, text: "Batch" },
    requests: [{ to: [{ email: admin }] }],
  });
  const batched = await waitLog(batch.responses[0].message_ids[0]);
  assert.equal(batched.sending_stream, "bulk");
});

test("client.emailLogs.getList: filters in the SDK's bracket syntax, search_after", { skip }, async () => {
  const t = tag();
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await client.send({ from: from(), to: [{ email: admin }], subject: `Logs ${t} #${i}, listed`,
                                  text: "x", category: i === 1 ? `Cat-${t}` : "Other" });
    ids.push(r.message_ids[0]);
  }
  const filters = { subject: { operator: "ci_contain", value: `logs ${t} ` } };
  const all = await client.emailLogs.getList({ filters });
  assert.equal(all.total_count, 3);
  assert.deepEqual(all.messages.map((m) => m.message_id), [...ids].reverse(), "newest first");
  assert.equal(all.next_page_cursor, null);
  const byCategory = await client.emailLogs.getList({
    filters: { ...filters, category: { operator: "equal", value: [`Cat-${t}`, "Nothing"] } },
  });
  assert.deepEqual(byCategory.messages.map((m) => m.message_id), [ids[1]]);
  const comma = await client.emailLogs.getList({
    filters: { subject: { operator: "ci_contain", value: `${t} #2, LISTED` } },
  });
  assert.deepEqual(comma.messages.map((m) => m.message_id), [ids[2]]);
  const after = await client.emailLogs.getList({ filters, search_after: ids[2] });
  assert.deepEqual(after.messages.map((m) => m.message_id), [ids[1], ids[0]]);
  const future = await client.emailLogs.getList({
    filters: { ...filters, sent_after: new Date(Date.now() + 3600e3).toISOString() },
  });
  assert.equal(future.total_count, 0);
  const window = await client.emailLogs.getList({
    filters: { ...filters, sent_after: new Date(Date.now() - 3600e3).toISOString(),
               sent_before: new Date(Date.now() + 3600e3).toISOString() },
  });
  assert.equal(window.total_count, 3);
  for (const id of ids) await waitLog(id);
  const delivered3 = await client.emailLogs.getList({
    filters: { ...filters, status: { operator: "equal", value: "delivered" },
               events: { operator: "include_event", value: ["delivery"] } },
  });
  assert.equal(delivered3.total_count, 3);
  await assert.rejects(client.emailLogs.get("00000000-0000-0000-0000-000000000000"), /Not Found/);
});

test("client.suppressions: create, list, reject, delete", { skip }, async () => {
  const t = tag();
  const created = await client.suppressions.create({ email: admin.toUpperCase(), domain_id: demo.id,
                                                     sending_stream: "transactional" });
  const entry = created.data;
  assert.match(entry.id, UUID);
  assert.equal(entry.email, admin);
  assert.equal(entry.type, "manual import");
  assert.equal(entry.sending_stream, "transactional");
  assert.equal(entry.domain_name, demo.domain_name);
  const listed = await client.suppressions.getList({ email: admin });
  assert.deepEqual(listed.map((s) => s.id), [entry.id]);
  const everything = await client.suppressions.getList();
  assert.ok(everything.some((s) => s.id === entry.id));

  const rejected = await client.send({ from: from(), to: [{ email: admin }], subject: `Suppressed ${t}`, text: "x" });
  const log = await client.emailLogs.get(rejected.message_ids[0]);
  assert.equal(log.status, "not_delivered");
  assert.deepEqual(log.events.map((e) => e.event_type), ["reject"]);
  // The bulk stream is not covered by a transactional suppression.
  const bulk = await bulkClient.send({ from: from(), to: [{ email: admin }], subject: `Bulk ok ${t}`, text: "x" });
  assert.equal((await waitLog(bulk.message_ids[0])).status, "delivered");

  const removed = await client.suppressions.delete(entry.id);
  assert.equal(removed.id, entry.id);
  assert.deepEqual(await client.suppressions.getList({ email: admin }), []);
  await assert.rejects(client.suppressions.delete(entry.id), /Not Found/);
  const again = await client.send({ from: from(), to: [{ email: admin }], subject: `Unsuppressed ${t}`, text: "x" });
  assert.equal((await waitLog(again.message_ids[0])).status, "delivered");
  await assert.rejects(client.suppressions.create({ email: "not-an-email" }), /email/);
});

test("the SDK's nodemailer MailtrapTransport", { skip }, async () => {
  const t = tag();
  const transport = nodemailer.createTransport(MailtrapTransport({ token: boot.api_token }));
  redirect(transport.transporter.client);
  const info = await transport.sendMail({
    from: { address: `transport@${demo.domain_name}`, name: "Transport" },
    to: admin,
    subject: `Transport ${t}`,
    text: "Sent through MailtrapTransport",
    category: "Transport",
    customVariables: { via: "transport" },
  });
  assert.equal(info.success, true);
  const message = await waitLog(info.message_ids[0]);
  assert.equal(message.status, "delivered");
  assert.equal(message.category, "Transport");
  assert.deepEqual(message.custom_variables, { via: "transport" });
  assert.equal(message.from, `transport@${demo.domain_name}`);
  assert.equal((await delivered(`Transport ${t}`)).length, 1);
  await assert.rejects(
    transport.sendMail({ from: `transport@example.org`, to: admin, subject: "x", text: "x" }),
  );
});

test("nodemailer over SMTP submission: STARTTLS, AUTH api/token, X-MT-* headers", { skip }, async () => {
  const t = tag();
  const options = { host: "127.0.0.1", port: smtpPort, secure: false, requireTLS: true,
                    tls: { rejectUnauthorized: false } };
  for (const method of ["PLAIN", "LOGIN"]) {
    const transporter = nodemailer.createTransport({ ...options, authMethod: method,
                                                     auth: { user: "api", pass: boot.api_token } });
    const info = await transporter.sendMail({
      from: `"Nodemailer" <nodemailer@${demo.domain_name}>`,
      to: admin,
      subject: `Nodemailer ${method} ${t}`,
      text: "Sent over SMTP",
      headers: { "X-MT-Category": "Nodemailer" },
    });
    transporter.close();
    const match = /^250 2\.0\.0 Ok: queued as ([0-9a-f-]{36})$/.exec(info.response);
    assert.ok(match, info.response);
    const message = await waitLog(match[1]);
    assert.equal(message.status, "delivered");
    assert.equal(message.category, "Nodemailer");
    assert.equal(message.subject, `Nodemailer ${method} ${t}`);
    const dumps = await delivered(`Nodemailer ${method} ${t}`);
    assert.equal(dumps.length, 1);
    for (const dump of dumps) {
      const headers = dump.split("\n\n")[0];
      assert.doesNotMatch(headers, /^X-MT-/im);
      assert.doesNotMatch(headers, /^Bcc:/im);
      assert.match(headers, /^DKIM-Signature: /m);
    }
  }
  const wrong = nodemailer.createTransport({ ...options, auth: { user: "api", pass: "0".repeat(64) } });
  await assert.rejects(
    wrong.sendMail({ from: `n@${demo.domain_name}`, to: admin, subject: "x", text: "x" }),
    (e) => e.code === "EAUTH" && e.responseCode === 535,
  );
  wrong.close();
  const good = nodemailer.createTransport({ ...options, auth: { user: "api", pass: boot.api_token } });
  await assert.rejects(
    good.sendMail({ from: "n@example.org", to: admin, subject: "x", text: "x" }),
    (e) => e.responseCode === 550 && /Sending from domain is not allowed/.test(e.response),
  );
  await assert.rejects(
    good.sendMail({ from: `n@${demo.domain_name}`, to: "stranger@example.com", subject: "x", text: "x" }),
    (e) => e.responseCode === 550,
  );
  good.close();
});

// nodemailer writes any header value with a double quote (so every JSON object) as an RFC 2047 encoded-word:
// X-Mt-Custom-Variables: =?UTF-8?Q?=7B=22user=5Fid=22=3A=2245982=22=7D?=. So do other MUAs for a non-ASCII
// X-MT-Category. The encoded-word is the header's text; Postroom must decode it before reading the JSON.
test("nodemailer's encoded X-MT-Custom-Variables and X-MT-Category are decoded", { skip }, async () => {
  const t = tag();
  const transporter = nodemailer.createTransport({ host: "127.0.0.1", port: smtpPort, secure: false, requireTLS: true,
                                                   tls: { rejectUnauthorized: false },
                                                   auth: { user: "api", pass: boot.api_token } });
  const info = await transporter.sendMail({
    from: `nodemailer@${demo.domain_name}`,
    to: admin,
    subject: `Nodemailer variables ${t}`,
    text: "Custom variables",
    headers: { "X-MT-Category": "Café news", "X-MT-Custom-Variables": JSON.stringify({ user_id: "45982" }) },
  });
  transporter.close();
  const id = /queued as ([0-9a-f-]{36})$/.exec(info.response)[1];
  const message = await waitLog(id);
  assert.equal(message.status, "delivered");
  assert.deepEqual(message.custom_variables, { user_id: "45982" });
  assert.equal(message.category, "Café news");
});

test("refusals surface as MailtrapError", { skip }, async () => {
  await assert.rejects(
    client.send({ from: { email: "someone@example.org" }, to: [{ email: admin }], subject: "x", text: "x" }),
    /not allowed/,
  );
  await assert.rejects(
    client.send({ from: from(), to: [{ email: "stranger@example.com" }], subject: "x", text: "x" }),
    /demo domain/,
  );
  await assert.rejects(client.send({ from: from(), to: [{ email: admin }], text: "x" }), /'subject' is required/);
  const stranger = redirect(new MailtrapClient({ token: "0".repeat(64), accountId: boot.account_id }));
  await assert.rejects(stranger.send({ from: from(), to: [{ email: admin }], subject: "x", text: "x" }),
                       /Unauthorized|Incorrect/);
  await assert.rejects(stranger.emailLogs.getList(), /Incorrect API token/);
  await assert.rejects(stranger.suppressions.getList(), /Incorrect API token/);
});
