// Settings in headless Chromium: API tokens (created with permissions, the secret shown once and working
// against the API, reset with its grace window, deleted and then refused), users (added with a generated
// password, level changed, signed in as in a fresh context, removed) and the account's name.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi } from "./harness.mjs";

const TIMEOUT = 15_000;

describe("Settings page", () => {
  let server;
  let browser;
  let page;
  let accountPath;

  const withToken = async (token, method, pathname, body) => {
    const response = await fetch(`${server.base}${pathname}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.status;
  };

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await signedInPage(browser, server);
    page.setDefaultTimeout(TIMEOUT);
    // Open this area before collecting problems: the shell's signed-out probe (GET /api/session → 401), the
    // favicon and the sandbox page the sign-in lands on are not this page's.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "Settings", level: 1 }).waitFor();
    page.problems.length = 0;
    accountPath = `/api/accounts/${server.boot.account_id}`;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const tokenRows = () => page.getByRole("table", { name: "API tokens" }).locator("tbody tr");
  const secretOnPage = () => page.getByTestId("copy-Token").textContent();

  let firstToken;
  let resetToken;

  test("create a token: errors verbatim, the secret shown once, and it works with its permissions", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByRole("tab", { name: "API tokens", selected: true }).waitFor();
    await tokenRows().first().waitFor();
    const before = await tokenRows().count();

    await page.getByRole("button", { name: "Create token" }).click();
    const dialog = page.getByRole("dialog", { name: "Create API token" });
    await dialog.getByLabel("Name").fill("CI reader");
    await dialog.getByLabel("Access level 1").selectOption("10");
    await dialog.getByLabel("Expires").fill("2020-01-01");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await dialog.getByRole("alert").filter({ hasText: "expires_at must be in the future" }).waitFor();
    await dialog.getByLabel("Expires").fill("");
    // A second permission row, then removed again: one account-wide Viewer grant remains.
    await dialog.getByRole("button", { name: "Add permission" }).click();
    await dialog.getByLabel("Resource 2").waitFor();
    await dialog.getByRole("button", { name: "Remove permission 2" }).click();
    assert.equal(await dialog.getByLabel("Resource 2").count(), 0);
    await dialog.getByRole("button", { name: "Create token" }).click();
    await dialog.waitFor({ state: "hidden" });

    await page.getByRole("heading", { name: "Token created: CI reader" }).waitFor();
    firstToken = (await secretOnPage()).trim();
    assert.ok(firstToken.length >= 20, firstToken);
    await tokenRows().nth(before).waitFor();
    const row = tokenRows().filter({ hasText: "CI reader" });
    assert.match(await row.textContent(), new RegExp(`…${firstToken.slice(-4)}`));
    await row.locator("li", { hasText: "Account: Default Account" }).getByText("Viewer").waitFor();
    await screenshot(page, "settings-tokens");

    // It works, as a viewer: reads pass, changes are refused.
    assert.equal(await withToken(firstToken, "GET", "/api/accounts"), 200);
    assert.equal(await withToken(firstToken, "GET", `${accountPath}/suppressions`), 200);
    assert.equal(await withToken(firstToken, "POST", `${accountPath}/suppressions`, { email: "x@example.com" }), 403);

    // Shown once: after dismissing it, the secret is nowhere on the page, nor after a reload.
    await page.getByRole("button", { name: "I have copied it" }).click();
    await page.getByTestId("copy-Token").waitFor({ state: "detached" });
    await page.reload();
    await tokenRows().filter({ hasText: "CI reader" }).waitFor();
    assert.ok(!(await page.content()).includes(firstToken));
  });

  test("reset: a new secret; the old one keeps its documented grace window; delete stops both", async () => {
    const row = tokenRows().filter({ hasText: "CI reader" }).first();
    await row.getByRole("button", { name: "Reset" }).click();
    await row.getByRole("button", { name: "Reset CI reader" }).click();
    await page.getByRole("heading", { name: /^Token reset: CI reader \d+$/ }).waitFor();
    await page.getByText("The previous token keeps working for 12 more hours").waitFor();
    resetToken = (await secretOnPage()).trim();
    assert.notEqual(resetToken, firstToken);
    assert.equal(await withToken(resetToken, "GET", `${accountPath}/suppressions`), 200);
    assert.equal(await withToken(firstToken, "GET", `${accountPath}/suppressions`), 200, "grace window");

    // Resetting the old one again: the API's refusal, verbatim.
    const old = tokenRows().filter({ hasText: /^CI reader…/ });
    await old.getByRole("button", { name: "Reset" }).click();
    await old.getByRole("button", { name: "Reset CI reader" }).click();
    await page.getByRole("alert").filter({ hasText: "Token has already been reset" }).waitFor();

    // Delete the new token, then the old one: each stops working at once.
    const fresh = tokenRows().filter({ hasText: /CI reader \d+/ });
    await fresh.getByRole("button", { name: "Delete" }).click();
    await fresh.getByRole("button", { name: /^Delete CI reader \d+$/ }).click();
    await fresh.waitFor({ state: "detached" });
    await page.getByTestId("copy-Token").waitFor({ state: "detached" });
    assert.equal(await withToken(resetToken, "GET", "/api/accounts"), 401);
    await old.getByRole("button", { name: "Delete" }).click();
    await old.getByRole("button", { name: "Delete CI reader" }).click();
    await old.waitFor({ state: "detached" });
    assert.equal(await withToken(firstToken, "GET", "/api/accounts"), 401);
    const tokens = await adminApi(server, "GET", `${accountPath}/api_tokens`);
    assert.ok(!tokens.some((t) => t.name.startsWith("CI reader")));
  });

  test("users: add with a generated password, sign in as them, change level, remove", async () => {
    await page.getByRole("tab", { name: "Users" }).click();
    assert.match(page.url(), /#\/settings\/users$/);
    const table = page.getByRole("table", { name: "Users" });
    await table.getByText(server.boot.admin_email).first().waitFor();

    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Email").fill("vera@example.test");
    await dialog.getByLabel("Name").fill("Vera Viewer");
    await dialog.getByLabel("Access level").selectOption("viewer");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "User created: vera@example.test" }).waitFor();
    const password = (await page.getByTestId("copy-Password").textContent()).trim();
    assert.ok(password.length >= 12, password);
    const row = table.locator("tr", { hasText: "vera@example.test" });
    await row.waitFor();
    assert.equal(await row.getByLabel("Access level of vera@example.test").inputValue(), "viewer");

    // Vera signs in with the generated password in a fresh context, as a viewer.
    const vera = await signedInPage(browser, server, { email: "vera@example.test", password });
    await vera.locator(".user-email", { hasText: "vera@example.test" }).waitFor();
    // A second tab of her session, straight on the users settings (the sign-in lands on the sandbox).
    const veraTab = await vera.context().newPage();
    await veraTab.goto(`${server.uiBase}/#/settings/users`);
    await veraTab.getByText("Only account admins can see and manage users.").waitFor();
    assert.equal(await veraTab.getByRole("button", { name: "Add user" }).count(), 0);
    await vera.context().close();

    // Admin now.
    await row.getByLabel("Access level of vera@example.test").selectOption("admin");
    const isAdminNow = async () => {
      const accesses = await adminApi(server, "GET", `${accountPath}/account_accesses`);
      const access = accesses.find((a) => a.specifier?.email === "vera@example.test");
      return access.resources.some((r) => r.resource_type === "account" && r.access_level === 100);
    };
    for (let i = 0; !(await isAdminNow()); i++) {
      if (i > 100) assert.fail("the level change never reached the API");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.reload();
    assert.equal(await row.getByLabel("Access level of vera@example.test").inputValue(), "admin");

    // The owner cannot be changed: no level select, no remove button on that row.
    const owner = table.locator("tr", { hasText: server.boot.admin_email });
    assert.equal(await owner.locator("select").count(), 0);
    assert.equal(await owner.getByRole("button", { name: /Remove/ }).count(), 0);

    await row.getByRole("button", { name: "Remove" }).click();
    await row.getByRole("button", { name: "Remove vera@example.test" }).click();
    await row.waitFor({ state: "detached" });
    const after = await adminApi(server, "GET", `${accountPath}/account_accesses`);
    assert.ok(!after.some((a) => a.specifier?.email === "vera@example.test"));
  });

  test("account: rename, and the top bar follows", async () => {
    await page.getByRole("tab", { name: "Account" }).click();
    const name = page.getByLabel("Account name");
    await name.fill("   ");
    await page.getByRole("button", { name: "Rename account" }).click();
    await page.getByRole("alert").filter({ hasText: "name can't be blank" }).waitFor();
    await name.fill("Acme Mail");
    await page.getByRole("button", { name: "Rename account" }).click();
    await page.locator(".account-name", { hasText: "Acme Mail" }).waitFor();
    assert.equal(await page.getByLabel("Account name").inputValue(), "Acme Mail");
    const accounts = await adminApi(server, "GET", "/api/accounts");
    assert.equal(accounts.find((a) => a.id === server.boot.account_id).name, "Acme Mail");
    // The failed requests the test provoked (422s; 401s of deleted tokens are not the page's) are the only
    // console errors, besides the favicon after a reload.
    assert.deepEqual(
      page.problems.filter((p) => !/Failed to load resource: the server responded with a status of (422|404)/.test(p)),
      [],
    );
  });
});
