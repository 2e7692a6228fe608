// Email Templates pages in real Chromium against the real binary: create a template with a Handlebars syntax
// error and see the server's error at its line, fix it, see the detected variables with Test_ defaults and the
// live preview, send a test by template into a sandbox and find the rendered mail through the API, delete.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi } from "./harness.mjs";

const BROKEN_HTML = `<html>
  <body>
    <p>Hi {{user.first_name}</p>
  </body>
</html>`;

const FIXED_HTML = `<html>
  <body>
    <p style="color: rgb(200, 0, 0)">Hi {{user.first_name}},</p>
    <ul>{{#each items}}<li>{{name}}</li>{{/each}}</ul>
    {{#if vip}}<p class="vip">VIP</p>{{/if}}
  </body>
</html>`;

describe("Email Templates UI", () => {
  let server;
  let browser;
  let page;
  let templateId;
  const A = () => `/api/accounts/${server.boot.account_id}`;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await signedInPage(browser, server);
    // Signing in starts with the shell's session probe, a 401 by design: not a problem of these pages.
    page.problems.length = 0;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("a syntax error is shown at its line, the draft is kept, and fixing it creates the template", async () => {
    await page.getByRole("link", { name: "Templates" }).click();
    await page.getByRole("heading", { name: "Email Templates" }).waitFor();
    await page.getByText("No templates yet.").waitFor();
    await page.getByRole("link", { name: "New template" }).click();
    await page.waitForURL(/#\/templates\/new$/);

    await page.getByLabel("Name", { exact: true }).fill("Welcome");
    await page.getByLabel("Category").fill("Onboarding");
    await page.getByLabel("Subject").fill("Hello {{user.first_name}}");
    await page.getByLabel("HTML body").fill(BROKEN_HTML);
    await page.getByRole("tab", { name: "Text" }).first().click();
    await page.getByLabel("Text body").fill("Hi {{user.first_name}}, your code is {{code}}.");
    await page.getByRole("tab", { name: "HTML" }).first().click();
    await page.getByRole("button", { name: "Create template" }).click();

    // The API's message, verbatim, in the banner …
    const banner = page.locator(".error-banner");
    await banner.waitFor();
    assert.match(await banner.innerText(), /^body_html has a Handlebars syntax error at line 3, column \d+: /);
    // … and at its line: the gutter marks line 3, and the error's button puts the cursor there.
    const marked = page.locator(".tpl-code-gutter .tpl-ln-error");
    assert.deepEqual(await marked.allInnerTexts(), ["3"]);
    assert.equal(await page.getByLabel("HTML body").getAttribute("aria-invalid"), "true");
    await page.getByRole("button", { name: /^Line 3, column \d+$/ }).click();
    const cursorLine = await page.getByLabel("HTML body").evaluate((ta) => ta.value.slice(0, ta.selectionStart).split("\n").length);
    assert.equal(cursorLine, 3);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "HTML body");
    assert.ok(page.url().endsWith("#/templates/new"), "nothing was created");
    assert.deepEqual(await adminApi(server, "GET", `${A()}/email_templates`), []);

    await page.getByLabel("HTML body").fill(FIXED_HTML);
    await page.getByRole("button", { name: "Create template" }).click();
    await page.waitForURL(/#\/templates\/\d+$/);
    templateId = Number(/#\/templates\/(\d+)$/.exec(page.url())[1]);
    await page.getByRole("heading", { name: "Welcome", level: 1 }).waitFor();
    await page.locator(".error-banner").waitFor({ state: "detached" });
    assert.equal(await page.locator(".tpl-code-gutter .tpl-ln-error").count(), 0);
    const saved = await adminApi(server, "GET", `${A()}/email_templates/${templateId}`);
    assert.equal(saved.body_html, FIXED_HTML);
    assert.equal(await page.getByTestId("template-uuid").innerText(), saved.uuid);
  });

  test("the variables are detected with Test_ defaults and the preview renders them live", async () => {
    const data = page.getByTestId("test-data");
    await data.waitFor();
    const labels = await data.locator("label").allInnerTexts();
    assert.deepEqual(labels, ["code", "items.[].name", "user.first_name", "vip"]);
    assert.equal(await page.getByLabel("user.first_name").inputValue(), "Test_first_name");
    assert.equal(await page.getByLabel("items.[].name").inputValue(), "Test_name");
    assert.equal(await page.getByLabel("code", { exact: true }).inputValue(), "Test_code");

    const subject = page.getByTestId("preview-subject");
    await page.waitForFunction((el) => el.textContent === "Hello Test_first_name", await subject.elementHandle());
    const frame = page.frameLocator('iframe[title="HTML preview"]');
    await frame.getByText("Hi Test_first_name,").waitFor();
    await frame.getByText("Test_name", { exact: true }).waitFor();
    await frame.getByText("VIP").waitFor();
    assert.equal(await page.locator('iframe[title="HTML preview"]').getAttribute("sandbox"), "");
    // The preview is the server's render, served as its own sandboxed document: the email's inline style applies.
    assert.equal(await frame.getByText("Hi Test_first_name,").evaluate((p) => getComputedStyle(p).color), "rgb(200, 0, 0)");
    assert.match(await page.locator('iframe[title="HTML preview"]').getAttribute("src"), /\/email_templates\/previews\/[0-9a-f]{32}$/);

    // Editing test data re-renders; an empty value is falsy for #if; {{x}} escapes everywhere, the preview too.
    await page.getByLabel("user.first_name").fill("Ada <3");
    await page.getByLabel("vip").fill("");
    await frame.getByText("Hi Ada <3,").waitFor();
    assert.equal(await frame.getByText("VIP").count(), 0);
    await page.waitForFunction((el) => el.textContent === "Hello Ada &lt;3", await subject.elementHandle());
    await page.getByRole("tab", { name: "Text" }).last().click();
    await page.getByTestId("preview-text").getByText("Hi Ada &lt;3, your code is Test_code.").waitFor();

    // Editing the template adds its new variable at once.
    await page.getByRole("tab", { name: "Text" }).first().click();
    await page.getByLabel("Text body").fill("Hi {{user.first_name}}, your code is {{code}}. {{order.total}}");
    await page.getByLabel("order.total").waitFor();
    assert.equal(await page.getByLabel("order.total").inputValue(), "Test_total");
    await page.getByText("Unsaved changes").waitFor();
  });

  test("send test saves, renders on the server into the sandbox, and the mail arrives", async () => {
    const inbox = server.boot.inbox_id;
    await page.getByLabel("To", { exact: true }).fill("qa@example.com");
    await page.getByLabel("Inbox", { exact: true }).selectOption(String(inbox));
    await page.getByRole("button", { name: "Save and send test" }).click();
    const result = page.locator(".tpl-send-result");
    await result.getByText(/as message \d+\./).waitFor();
    const messageId = /as message (\d+)\./.exec(await result.innerText())[1];
    await page.getByText("Unsaved changes").waitFor({ state: "detached" });
    const saved = await adminApi(server, "GET", `${A()}/email_templates/${templateId}`);
    assert.match(saved.body_text, /\{\{order\.total\}\}$/);

    const messages = await adminApi(server, "GET", `${A()}/inboxes/${inbox}/messages`);
    const message = messages.find((m) => String(m.id) === messageId);
    assert.ok(message, "the test message is in the sandbox");
    assert.equal(message.subject, "Hello Ada &lt;3"); // {{x}} escapes in every field, as handlebars.js
    assert.equal(message.to_email, "qa@example.com");
    const response = await fetch(`${server.base}${A()}/inboxes/${inbox}/messages/${messageId}/body.html`, {
      headers: { Authorization: `Bearer ${server.boot.api_token}` },
    });
    const html = await response.text();
    assert.match(html, /Hi Ada &lt;3,/);
    assert.match(html, /<li>Test_name<\/li>/);
    assert.doesNotMatch(html, /VIP/);

    // The captured test message is shown next to the live preview.
    await page.getByRole("tab", { name: "Sent test" }).waitFor();
    const serverFrame = page.frameLocator('iframe[title="Server-rendered HTML"]');
    await serverFrame.getByText("Hi Ada <3,").waitFor();
    // The server's render is served with its own policy: the template's inline style applies there.
    assert.equal(await serverFrame.getByText("Hi Ada <3,").evaluate((p) => getComputedStyle(p).color), "rgb(200, 0, 0)");
    await page.getByRole("tab", { name: "HTML" }).first().click();
    await page.locator("#main").evaluate((main) => main.scrollTo(0, 0));
    await screenshot(page, "templates-editor");
  });

  test("a send the server refuses shows its error verbatim", async () => {
    await page.getByLabel("A real address").check();
    await page.getByLabel("From", { exact: true }).fill("someone@not-a-domain-of-ours.example");
    await page.getByRole("button", { name: "Send test" }).click();
    const banner = page.locator(".tpl-send-test .error-banner");
    await banner.waitFor();
    assert.match(await banner.innerText(), /Sending from domain not-a-domain-of-ours\.example is not allowed/);
  });

  test("unsaved changes can be discarded; Ctrl+S saves from the keyboard", async () => {
    await page.getByLabel("Category").fill("Scratch");
    await page.getByRole("button", { name: "Discard changes" }).click();
    await page.getByRole("button", { name: "Discard", exact: true }).click();
    assert.equal(await page.getByLabel("Category").inputValue(), "Onboarding");
    await page.getByText("Unsaved changes").waitFor({ state: "detached" });

    await page.getByLabel("Category").fill("Onboarding v2");
    await page.getByText("Unsaved changes").waitFor();
    await page.keyboard.press("Control+s");
    await page.getByText(/^Saved at /).waitFor();
    await page.getByText("Unsaved changes").waitFor({ state: "detached" });
    const saved = await adminApi(server, "GET", `${A()}/email_templates/${templateId}`);
    assert.equal(saved.category, "Onboarding v2");
  });

  test("duplicate makes an independent copy", async () => {
    await page.getByRole("button", { name: "Duplicate" }).click();
    await page.waitForURL((url) => /#\/templates\/\d+$/.test(url.hash) && !url.hash.endsWith(`/${templateId}`));
    await page.getByRole("heading", { name: "Welcome (copy)", level: 1 }).waitFor();
    const copyId = Number(/#\/templates\/(\d+)$/.exec(page.url())[1]);
    const copy = await adminApi(server, "GET", `${A()}/email_templates/${copyId}`);
    const original = await adminApi(server, "GET", `${A()}/email_templates/${templateId}`);
    assert.equal(copy.body_html, original.body_html);
    assert.notEqual(copy.uuid, original.uuid);
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("button", { name: "Delete template" }).click();
    await page.waitForURL(/#\/templates$/);
    assert.equal((await adminApi(server, "GET", `${A()}/email_templates`)).length, 1);
  });

  test("the list shows the template; delete asks first, then removes it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" }).click();
    const row = page.getByRole("row").filter({ hasText: "Welcome" });
    await row.waitFor();
    assert.match(await row.innerText(), /Onboarding/);
    await page.keyboard.press("/");
    await page.keyboard.type("nothing-like-it");
    await page.getByText("No template matches").waitFor();
    await page.getByLabel("Filter templates").fill("");

    await row.getByRole("link", { name: "Welcome" }).click();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("button", { name: "Delete template" }).click();
    await page.waitForURL(/#\/templates$/);
    await page.getByText("No templates yet.").waitFor();
    assert.deepEqual(await adminApi(server, "GET", `${A()}/email_templates`), []);

    // The refusals this file provokes on purpose (the syntax error, the live send) are logged by Chromium as
    // failed loads; nothing else may be.
    const expected = /Failed to load resource: the server responded with a status of (422|403)/;
    assert.deepEqual(page.problems.filter((p) => !expected.test(p)), []);
  });
});
