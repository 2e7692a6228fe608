// The sandbox QA calls of the official Node SDK (mailtrap, unmodified) against the real postroom binary:
// `testing.messages.forward`, `getSpamScore` (a real SpamAssassin spamd, started by the test fixture, address in
// POSTROOM_TEST_SPAMD), `getHtmlAnalysis` and `getMailHeaders`. Forwarded mail and the address confirmation go
// out through the delivery engine to a smarthost (--relay): a small SMTP receiver in this file, which records
// what it was given, so the test can follow the confirmation link like the address owner would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startPostroom, sdkClient, api } from "./harness.mjs";

const SPAMD = process.env.POSTROOM_TEST_SPAMD;
const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

// A minimal SMTP receiver (plain text, no TLS): enough for Postroom's client with --relay-tls none.
function startReceiver() {
  const received = [];
  const server = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    let current = { rcpt: [], data: "" };
    socket.write("220 receiver ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            received.push(current);
            current = { rcpt: [], data: "" };
            socket.write("250 2.0.0 queued\r\n");
          } else {
            current.data += (line.startsWith("..") ? line.slice(1) : line) + "\r\n";
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-receiver\r\n250 8BITMIME\r\n");
        else if (verb === "HELO") socket.write("250 receiver\r\n");
        else if (verb === "MAIL") socket.write("250 2.1.0 ok\r\n");
        else if (verb === "RCPT") {
          current.rcpt.push(line.replace(/^RCPT TO:\s*<([^>]*)>.*$/i, "$1"));
          socket.write("250 2.1.5 ok\r\n");
        } else if (verb === "DATA") {
          inData = true;
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 bye\r\n");
        } else socket.write("250 ok\r\n");
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ port: server.address().port, received, server }));
  });
}

async function waitFor(predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = predicate();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let server;
let receiver;
let admin;
let boot;

before(async () => {
  assert.ok(SPAMD, "POSTROOM_TEST_SPAMD must name the test spamd (tests/CMakeLists.txt starts one)");
  receiver = await startReceiver();
  server = await startPostroom([
    "--relay", `smtp://127.0.0.1:${receiver.port}`, "--relay-tls", "none", "--spamd", SPAMD,
    "--retry-schedule", "1,1,1", "--forward-domain", "forward.postroom.test",
  ]);
  boot = server.boot;
  admin = sdkClient(server, { token: boot.api_token, accountId: boot.account_id });
});

after(async () => {
  await server?.stop();
  receiver?.server.close();
});

async function capture(inboxId, subject, extra = {}) {
  const sender = sdkClient(server, { token: boot.api_token, sandbox: true, testInboxId: inboxId });
  await sender.send({
    from: { email: "app@example.com", name: "App" },
    to: [{ email: "qa@example.com" }],
    subject,
    text: `text of ${subject}`,
    html: `<html><body><p style="display:flex">html of ${subject}</p></body></html>`,
    ...extra,
  });
  const list = await admin.testing.messages.get(inboxId);
  const found = list.find((m) => m.subject === subject);
  assert.ok(found, `${subject} captured`);
  return found.id;
}

test("forward: refused until the owner confirms, then delivered with the From rewritten", async () => {
  const inbox = await admin.testing.inboxes.create(boot.project_id, "Forwarding via SDK");
  const id = await capture(inbox.id, "Forward me");
  const messages = admin.testing.messages;
  await assert.rejects(messages.forward(inbox.id, id, "owner@example.net"), (error) => {
    assert.equal(error.cause?.response?.status, 422);
    assert.match(error.cause.response.data.errors, /not confirmed for forwarding/);
    return true;
  });
  const rule = await api(server, "POST", `/api/accounts/${boot.account_id}/inboxes/${inbox.id}/forwarding_rules`,
    boot.api_token, { email: "owner@example.net" });
  assert.equal(rule.status, 200, JSON.stringify(rule.body));
  assert.equal(rule.body.status, "pending");
  const confirmation = await waitFor(
    () => receiver.received.find((m) => m.rcpt.includes("owner@example.net") && /Confirm email forwarding/.test(m.data)),
    "the confirmation email",
  );
  const link = confirmation.data.match(/(http:\/\/\S+\/forwarding\/confirm\/[0-9a-f]{64})/)[1];
  assert.equal((await fetch(link, { method: "POST" })).status, 200);

  const result = await messages.forward(inbox.id, id, "owner@example.net");
  assert.deepEqual(result, { success: true, message: "Your email message has been successfully forwarded" });
  const forwarded = await waitFor(
    () => receiver.received.find((m) => m.rcpt.includes("owner@example.net") && /Subject: Forward me/.test(m.data)),
    "the forwarded message",
  );
  const refreshed = await admin.testing.inboxes.getInboxAttributes(inbox.id);
  assert.match(forwarded.data, new RegExp(`^From: Postroom Forward <${refreshed.forward_from_email_address}>\\r$`, "m"));
  assert.match(forwarded.data, /^X-Mailtrap-Original-From: App <app@example\.com>\r$/m);
  assert.equal(refreshed.forwarded_messages_count, 1);
});

test("getSpamScore: SpamAssassin's verdict from the real spamd, kept with the message", async () => {
  const inbox = await admin.testing.inboxes.create(boot.project_id, "Spam via SDK");
  const clean = await capture(inbox.id, "A clean message");
  const { report } = await admin.testing.messages.getSpamScore(inbox.id, clean);
  assert.deepEqual(Object.keys(report).sort(),
    ["Details", "ResponseCode", "ResponseMessage", "ResponseVersion", "Score", "Spam", "Threshold"]);
  assert.equal(report.ResponseCode, 0);
  assert.equal(report.ResponseMessage, "EX_OK");
  assert.equal(report.ResponseVersion, "1.1");
  assert.equal(report.Spam, false);
  assert.equal(report.Threshold, 5);
  assert.ok(report.Score < 5, `score ${report.Score}`);
  for (const rule of report.Details) {
    assert.equal(typeof rule.Pts, "string");
    assert.match(rule.RuleName, /^[A-Z0-9_]+$/);
  }
  const spam = await capture(inbox.id, "Spam test", { text: `This is spam: ${GTUBE}` });
  const verdict = (await admin.testing.messages.getSpamScore(inbox.id, spam)).report;
  assert.equal(verdict.Spam, true);
  assert.ok(verdict.Score >= 1000, `GTUBE score ${verdict.Score}`);
  assert.ok(verdict.Details.some((rule) => rule.RuleName === "GTUBE"));
  // Asked again: the same report (kept with the message, spamd not asked twice).
  assert.deepEqual((await admin.testing.messages.getSpamScore(inbox.id, spam)).report, verdict);
});

test("getHtmlAnalysis and getMailHeaders", async () => {
  const inbox = await admin.testing.inboxes.create(boot.project_id, "HTML via SDK");
  const id = await capture(inbox.id, "Flex layout");
  const analysis = await admin.testing.messages.getHtmlAnalysis(inbox.id, id);
  assert.equal(analysis.report.status, "success");
  const flex = analysis.report.errors.filter((e) => /display/i.test(e.rule_name) && /flex/i.test(e.rule_name));
  assert.ok(flex.length >= 1, JSON.stringify(analysis.report.errors));
  for (const error of analysis.report.errors) {
    assert.equal(typeof error.error_line, "number");
    assert.deepEqual(Object.keys(error.email_clients).sort(), ["desktop", "mobile", "web"]);
  }
  const { headers } = await admin.testing.messages.getMailHeaders(inbox.id, id);
  assert.equal(headers.subject, "Flex layout");
  assert.match(headers.from, /app@example\.com/);
});

test("getSpamScore on a server without spamd says so instead of inventing a score", async () => {
  const bare = await startPostroom();
  try {
    const client = sdkClient(bare, { token: bare.boot.api_token, accountId: bare.boot.account_id });
    const sender = sdkClient(bare, { token: bare.boot.api_token, sandbox: true, testInboxId: bare.boot.inbox_id });
    await sender.send({ from: { email: "a@example.com" }, to: [{ email: "b@example.com" }], subject: "s", text: "t" });
    const [message] = await client.testing.messages.get(bare.boot.inbox_id);
    await assert.rejects(client.testing.messages.getSpamScore(bare.boot.inbox_id, message.id), (error) => {
      assert.equal(error.cause?.response?.status, 503);
      assert.match(error.cause.response.data.errors, /no spam scanner \(spamd\) is configured \(start Postroom with --spamd/);
      return true;
    });
  } finally {
    await bare.stop();
  }
});
