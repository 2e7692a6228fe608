// Email Logs page in headless Chromium. Live mail goes out from the account's demo domain to the bootstrap
// admin (the only recipient the demo domain allows) through --relay to a tiny SMTP sink in this file, which
// accepts everything except messages whose subject starts with "Bounce me" (550 at the end of DATA: a hard
// bounce). Then the test filters the table (filters kept in the URL), pages with "Load more", and opens
// messages: event timeline, custom variables, rendered HTML, text, HTML source and raw.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi } from "./harness.mjs";

const TIMEOUT = 15_000;

// A minimal SMTP server (no TLS, no AUTH): enough for Postroom's relay client.
function startSink() {
  const received = [];
  const server = createServer((socket) => {
    let buffer = "";
    let data = null; // the DATA section while it arrives
    socket.write("220 sink.test ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        if (data !== null) {
          data += buffer;
          buffer = "";
          if (!`\r\n${data}`.endsWith("\r\n.\r\n")) return;
          const message = data;
          data = null;
          received.push(message);
          socket.write(
            /^Subject: Bounce me/m.test(message)
              ? "550 5.1.1 <admin>: Recipient address rejected: User unknown in virtual mailbox table\r\n"
              : "250 2.0.0 Ok: queued\r\n",
          );
          continue;
        }
        const end = buffer.indexOf("\r\n");
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-sink.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        else if (verb === "HELO") socket.write("250 sink.test\r\n");
        else if (verb === "DATA") {
          data = "";
          socket.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 2.0.0 Bye\r\n");
          return;
        } else socket.write("250 2.0.0 Ok\r\n");
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ port: server.address().port, received, close: () => server.close() })),
  );
}

async function poll(what, check, timeout = 20_000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("Email Logs page", () => {
  let server;
  let sink;
  let browser;
  let page;
  let accountPath;
  let admin;
  let demo;
  const ids = {};

  const send = (body, pathname = "/api/send") => adminApi(server, "POST", pathname, body);
  const log = (id) => adminApi(server, "GET", `${accountPath}/email_logs/${id}`);

  before(async () => {
    sink = await startSink();
    server = await startServer([
      "--relay", `smtp://127.0.0.1:${sink.port}`, "--relay-tls", "none",
      "--retry-schedule", "1,1",
      "--rate-limit-requests", "100000",
    ]);
    accountPath = `/api/accounts/${server.boot.account_id}`;
    admin = server.boot.admin_email;
    demo = (await adminApi(server, "GET", `${accountPath}/sending_domains`)).data.find((d) => d.demo);
    assert.ok(demo, "the account has its demo domain");
    const from = { email: `app@${demo.domain_name}`, name: "App" };

    // 50 routine messages first (the oldest), so the three interesting ones fill the first page with 47 others.
    const batch = await send({
      base: { from, subject: "Routine", text: "Routine message", category: "Routine" },
      requests: Array.from({ length: 50 }, (_, i) => ({ to: [{ email: admin }], subject: `Routine ${i + 1}` })),
    }, "/api/batch");
    assert.equal(batch.responses.length, 50);
    ids.welcome = (await send({
      from,
      to: [{ email: admin }],
      subject: "Welcome aboard",
      text: `Hello Ada, welcome. Grüße aus Köln ✓ ${"long line ".repeat(30)}end`,
      html: `<p class="greeting">Hello <b>Ada</b>, welcome. Grüße ✓</p><p>${"wide ".repeat(60)}end</p>`,
      category: "Welcome",
      custom_variables: { user_id: "42", plan: "pro" },
    })).message_ids[0];
    ids.newsletter = (await send(
      { from, to: [{ email: admin }], subject: "Newsletter November", text: "News", category: "Newsletter" },
      "/bulk/api/send",
    )).message_ids[0];
    ids.bounce = (await send({ from, to: [{ email: admin }], subject: "Bounce me please", text: "Nobody home" }))
      .message_ids[0];
    await poll("the three messages to be settled", async () => {
      const [w, n, b] = await Promise.all([log(ids.welcome), log(ids.newsletter), log(ids.bounce)]);
      return w.status === "delivered" && n.status === "delivered" && b.status === "not_delivered";
    });

    browser = await launchBrowser();
    page = await signedInPage(browser, server);
    page.setDefaultTimeout(TIMEOUT);
    // Open this area before collecting problems: the shell's signed-out probe (GET /api/session → 401), the
    // favicon and the sandbox page the sign-in lands on are not this page's.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Email Logs" }).click();
    await page.getByRole("heading", { name: "Email Logs", level: 1 }).waitFor();
    page.problems.length = 0;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    sink?.close();
  });

  const table = () => page.getByRole("table", { name: "Sent messages" });
  const subjects = () => table().locator("a.logs-link").allTextContents();
  const waitRows = (n) =>
    page.waitForFunction((count) => document.querySelectorAll(".logs-table tbody tr").length === count, n);
  // The rows are exactly these subjects. A row count alone can already hold before a new filter's answer arrives
  // (one bulk message, then one bounced message).
  const waitSubjects = (expected) =>
    page.waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll(".logs-table a.logs-link")].map((a) => a.textContent)) === want,
      JSON.stringify(expected),
    );

  test("the table lists the newest 50, and Load more pages on", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Email Logs" }).click();
    await table().waitFor();
    await page.getByRole("status").filter({ hasText: "53 messages" }).waitFor();
    await waitRows(50);
    assert.deepEqual((await subjects()).slice(0, 3), ["Bounce me please", "Newsletter November", "Welcome aboard"]);
    const bounceRow = table().locator("tr", { hasText: "Bounce me please" });
    assert.equal(await bounceRow.locator(".badge").textContent(), "Not delivered");
    assert.match(await bounceRow.textContent(), new RegExp(`${admin}.*app@${demo.domain_name}.*transactional.*${demo.domain_name}`));
    await screenshot(page, "email-logs");

    await page.getByText("Showing 50 of 53").waitFor();
    await page.getByRole("button", { name: "Load more" }).click();
    await waitRows(53);
    assert.deepEqual((await subjects()).slice(-2), ["Routine 2", "Routine 1"]);
    assert.equal(await page.getByRole("button", { name: "Load more" }).count(), 0, "no more pages");
  });

  test("filters: status, subject, stream, event; kept in the URL across a reload", async () => {
    await page.getByLabel("Status").selectOption("not_delivered");
    await waitSubjects(["Bounce me please"]);
    assert.match(page.url(), /#\/logs\?status=not_delivered$/);
    await page.getByRole("status").filter({ hasText: "1 message match" }).waitFor();

    await page.reload();
    await waitSubjects(["Bounce me please"]);
    assert.equal(await page.getByLabel("Status").inputValue(), "not_delivered");

    await page.getByRole("button", { name: "Clear filters" }).click();
    await waitRows(50);
    // Text filters apply on Enter (the "/" shortcut focuses the first one).
    await page.locator("body").press("/");
    await page.keyboard.type("admin");
    await page.getByLabel("Subject").fill("welcome");
    await page.getByLabel("Subject").press("Enter");
    await waitSubjects(["Welcome aboard"]);
    assert.match(page.url(), /to=admin/);
    assert.match(page.url(), /subject=welcome/);

    await page.getByRole("button", { name: "Clear filters" }).click();
    await waitRows(50);
    await page.getByLabel("Stream").selectOption("bulk");
    await waitSubjects(["Newsletter November"]);
    await page.getByLabel("Stream").selectOption("");

    await page.getByLabel("Event", { exact: true }).selectOption("bounce");
    await waitSubjects(["Bounce me please"]);
    await page.getByLabel("Event condition").selectOption("exclude");
    await page.getByRole("status").filter({ hasText: "52 messages match" }).waitFor();

    // More filters: category (exact) from the advanced row.
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByRole("button", { name: "More filters" }).click();
    await page.getByLabel("Category").fill("Newsletter");
    await page.getByLabel("Category").press("Enter");
    await waitSubjects(["Newsletter November"]);

    // A time window in the future matches nothing, and says so.
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByLabel("Sent after").fill("2099-01-01T00:00");
    await page.getByText("No messages match these filters.").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await waitRows(50);
  });

  test("a bounced message: the event timeline with the provider's answer", async () => {
    // Keyboard: j moves to the first (newest) message, j/k move on and back, Enter opens it.
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Newsletter November");
    await page.keyboard.press("k");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Bounce me please");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Bounce me please", level: 1 }).waitFor();
    assert.match(page.url(), new RegExp(`#/logs/${ids.bounce}$`));
    const timeline = page.getByRole("list", { name: "Event history" });
    await timeline.waitFor();
    const events = await timeline.locator(".logs-event-head .badge").allTextContents();
    assert.ok(events.includes("Bounce"), `events: ${events}`);
    const bounce = timeline.locator("li", { has: page.locator(".badge", { hasText: /^Bounce$/ }) });
    assert.match(await bounce.textContent(), /User unknown in virtual mailbox table/);
    assert.match(await bounce.textContent(), /bounce category/);
    // The hard bounce put the recipient on the suppression list: the link there shows it.
    await page.getByRole("link", { name: `Suppressions for ${admin}` }).click();
    await page.getByRole("heading", { name: "Suppressions", level: 1 }).waitFor();
    assert.match(page.url(), new RegExp(`#/suppressions\\?email=${encodeURIComponent(admin)}$`));
    await page.locator(".supp-email", { hasText: admin }).first().waitFor();
    await page.goBack();
    await page.getByRole("heading", { name: "Bounce me please", level: 1 }).waitFor();
    // Back with Escape, to the list as it was.
    await page.keyboard.press("Escape");
    await table().waitFor();
    assert.match(page.url(), /#\/logs$/);
  });

  test("a delivered message: custom variables, rendered HTML, text, HTML source and raw", async () => {
    await page.getByRole("link", { name: "Welcome aboard" }).click();
    await page.getByRole("heading", { name: "Welcome aboard", level: 1 }).waitFor();
    await page.getByRole("list", { name: "Event history" }).locator(".badge", { hasText: "Delivery" }).waitFor();
    const vars = page.getByRole("table", { name: "Custom variables" });
    assert.equal(await vars.getByRole("row", { name: /user_id/ }).locator("td").textContent(), "42");
    assert.equal(await vars.getByRole("row", { name: /plan/ }).locator("td").textContent(), "pro");

    const panel = page.getByRole("tabpanel");
    // The HTML first, rendered in a sandboxed frame from the server's body.html.
    await page.getByRole("tab", { name: "HTML", exact: true }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "HTML", exact: true }).getAttribute("aria-selected"), "true");
    const preview = page.locator('iframe[title="HTML preview"]');
    assert.equal(await preview.getAttribute("sandbox"), "");
    await page.frameLocator('iframe[title="HTML preview"]').locator("p.greeting b", { hasText: "Ada" }).waitFor();
    await page.getByRole("tab", { name: "HTML", exact: true }).press("ArrowRight");
    assert.equal(await page.getByRole("tab", { name: "Text" }).getAttribute("aria-selected"), "true");
    // Decoded from its transfer encoding and charset (non-ASCII, long lines).
    assert.match(await panel.textContent(), /Hello Ada, welcome\. Grüße aus Köln ✓ (long line ){30}end/);
    // Arrow keys move between the tabs.
    await page.getByRole("tab", { name: "Text" }).press("ArrowRight");
    assert.equal(await page.getByRole("tab", { name: "HTML source" }).getAttribute("aria-selected"), "true");
    await panel.locator(".hl-tag", { hasText: "<p" }).first().waitFor();
    assert.match(await panel.textContent(), /<p class="greeting">Hello <b>Ada<\/b>, welcome\. Grüße ✓<\/p><p>(wide ){60}end<\/p>/);
    // The email's HTML is shown as text, never as markup of this page.
    assert.equal(await page.locator("main p.greeting").count(), 0);
    await page.getByRole("tab", { name: "Raw" }).click();
    assert.match(await panel.textContent(), /Subject: Welcome aboard/);
    assert.match(await panel.textContent(), new RegExp(`From: App <app@${demo.domain_name}>`));
    await screenshot(page, "email-log-detail");

    // The download link points at the signed raw URL on this origin, and it serves the message.
    const href = await page.getByRole("link", { name: "Download .eml" }).getAttribute("href");
    assert.match(href, new RegExp(`^/api/email_logs/raw/${ids.welcome}\\?expires=\\d+&signature=[0-9a-f]+$`));
    const raw = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    assert.match(raw, /Subject: Welcome aboard/);
  });

  test("an unknown message shows the API's error and a way back", async () => {
    await page.goto(`${server.uiBase}/#/logs/00000000-0000-0000-0000-000000000000`);
    await page.getByRole("alert").filter({ hasText: "Not Found" }).waitFor();
    await page.getByRole("link", { name: "← Email Logs" }).click();
    await table().waitFor();
    // Chromium may log the provoked 404 as a failed resource load; anything else is a problem.
    assert.deepEqual(
      page.problems.filter((p) => !/Failed to load resource: the server responded with a status of 404/.test(p)),
      [],
    );
  });
});
