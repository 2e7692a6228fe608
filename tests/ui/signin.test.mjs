// Sign-in, the session cookie, the account switcher and sign-out, in headless Chromium against the real binary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi, watchProblems } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the UI document is served with a strict Content-Security-Policy and no inline script", async () => {
  if (process.env.POSTROOM_UI_DEV === "1") return; // the Vite dev server serves the page itself
  const response = await fetch(`${server.base}/`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/html/);
  const csp = response.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "an inline script would be blocked by the CSP");
  const script = html.match(/<script[^>]*src="([^"]+)"/)[1];
  const asset = await fetch(`${server.base}${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get("content-type"), /javascript/);
  assert.match(asset.headers.get("cache-control"), /immutable/);
});

test("a wrong password is refused with the server's words, and the form stays usable", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchProblems(page);
  await page.goto(`${server.uiBase}/`);
  await page.getByLabel("Email").fill(server.boot.admin_email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").getByText("Invalid email or password").waitFor();
  await screenshot(page, "sign-in");
  // Keyboard only: the password field is still there; fix it and submit with Enter.
  await page.getByLabel("Password").fill(server.boot.admin_password);
  await page.getByLabel("Password").press("Enter");
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("the session survives a reload, the cookie is HttpOnly, and signing out ends it", async () => {
  const page = await signedInPage(browser, server);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "postroom_session");
  assert.ok(session, "no session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie.includes("postroom_session")), false);

  await page.reload();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  await page.getByText(server.boot.admin_email).waitFor();

  // The API answers the cookie only with the CSRF header for writes.
  const withoutCsrf = await page.evaluate(async (accountId) => {
    const r = await fetch(`/api/accounts/${accountId}/projects`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ project: { name: "csrf" } }),
    });
    return { status: r.status, body: await r.text() };
  }, server.boot.account_id);
  assert.equal(withoutCsrf.status, 403);
  assert.match(withoutCsrf.body, /CSRF/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  const after = await page.evaluate(async (accountId) => (await fetch(`/api/accounts/${accountId}/projects`)).status,
    server.boot.account_id);
  assert.equal(after, 401);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test("a user of several accounts switches between them", async () => {
  const created = await adminApi(server, "POST", `/api/organizations/${server.boot.organization_id}/sub_accounts`, {
    account: { name: "Second Account" },
  });
  const page = await signedInPage(browser, server);
  const switcher = page.getByLabel("Account");
  await switcher.waitFor();
  assert.deepEqual(await switcher.locator("option").allTextContents(), ["Default Account", "Second Account"]);
  // The pages now read the other account: its API paths carry its id.
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().includes(`/api/accounts/${created.id}/`)),
    switcher.selectOption(String(created.id)),
  ]);
  assert.ok(request);
  await page.reload();
  await page.getByLabel("Account").waitFor();
  assert.equal(await page.getByLabel("Account").inputValue(), String(created.id), "the choice survives a reload");
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
