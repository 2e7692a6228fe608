// Suppressions page in headless Chromium: add addresses by hand (one refused line shown verbatim), see them,
// filter (kept across a reload), export and import CSV, reactivate one (it disappears, here and in the API).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi } from "./harness.mjs";

const TIMEOUT = 15_000;

describe("Suppressions page", () => {
  let server;
  let browser;
  let page;
  let accountPath;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await signedInPage(browser, server);
    page.setDefaultTimeout(TIMEOUT);
    // Open this area before collecting problems: the shell's signed-out probe (GET /api/session → 401), the
    // favicon and the sandbox page the sign-in lands on are not this page's.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Suppressions" }).click();
    await page.getByRole("heading", { name: "Suppressions", level: 1 }).waitFor();
    page.problems.length = 0;
    accountPath = `/api/accounts/${server.boot.account_id}`;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const rows = () => page.getByRole("table", { name: "Suppressed addresses" }).locator("tbody tr");
  const apiList = () => adminApi(server, "GET", `${accountPath}/suppressions`);

  test("add by hand, with a refused line reported", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Suppressions" }).click();
    await page.getByRole("heading", { name: "Suppressions", level: 1 }).waitFor();
    await page.getByText("The suppression list is empty.").waitFor();

    await page.getByRole("button", { name: "Add addresses" }).click();
    const dialog = page.getByRole("dialog", { name: "Add addresses to the suppression list" });
    await dialog.getByLabel("E-mail addresses").fill("ada@example.com\nnot-an-address\nBob@Example.org\n");
    await dialog.getByLabel("Stream").selectOption("bulk");
    await dialog.getByRole("button", { name: "Add to suppressions" }).click();
    await dialog.getByRole("alert").filter({ hasText: "2 addresses added. 1 line refused:" }).waitFor();
    await dialog.getByRole("list", { name: "Refused lines" }).getByText("not-an-address: email 'not-an-address' is invalid").waitFor();
    // Only the refused address stays in the box for correction.
    assert.equal(await dialog.getByLabel("E-mail addresses").inputValue(), "not-an-address");
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "hidden" });

    await rows().nth(1).waitFor();
    assert.equal(await rows().count(), 2);
    const emails = await page.locator(".supp-email").allTextContents();
    assert.deepEqual(emails.sort(), ["ada@example.com", "bob@example.org"]);
    const listed = await apiList();
    assert.deepEqual(listed.map((s) => `${s.email}/${s.sending_stream}/${s.type}`).sort(), [
      "ada@example.com/bulk/manual import",
      "bob@example.org/bulk/manual import",
    ]);

    // Adding the same address again is reported as already listed, not duplicated.
    await page.getByRole("button", { name: "Add addresses" }).click();
    await dialog.getByLabel("E-mail addresses").fill("ada@example.com\ncarol@example.net");
    await dialog.getByLabel("Stream").selectOption("bulk");
    await dialog.getByRole("button", { name: "Add to suppressions" }).click();
    await page.getByRole("status").filter({ hasText: "1 address added, 1 already on the list." }).waitFor();
    await rows().nth(2).waitFor();
    assert.equal((await apiList()).length, 3);
  });

  test("filter by email, stream and reason; filters survive a reload", async () => {
    await page.getByLabel("Email", { exact: true }).fill("ada");
    await page.getByLabel("Email", { exact: true }).press("Enter");
    await page.waitForFunction(() => document.querySelectorAll(".supp-table tbody tr").length === 1);
    assert.equal(await page.locator(".supp-email").textContent(), "ada@example.com");
    assert.match(page.url(), /#\/suppressions\?email=ada$/);

    await page.reload();
    await page.getByRole("table", { name: "Suppressed addresses" }).waitFor();
    assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), "ada");
    assert.equal(await rows().count(), 1);

    await page.getByLabel("Stream").selectOption("transactional");
    await page.getByText("No suppressions match these filters.").waitFor();
    await page.getByLabel("Stream").selectOption("bulk");
    await rows().first().waitFor();
    await page.getByLabel("Reason").selectOption("hard bounce");
    await page.getByText("No suppressions match these filters.").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.waitForFunction(() => document.querySelectorAll(".supp-table tbody tr").length === 3);
    assert.match(page.url(), /#\/suppressions$/);
    await screenshot(page, "suppressions");
  });

  test("export and import CSV", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^suppressions-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync(await download.path(), "utf8");
    assert.match(csv, /^email,type,sending_stream,domain_name,created_at/);
    for (const email of ["ada@example.com", "bob@example.org", "carol@example.net"]) assert.ok(csv.includes(email), csv);

    await page.getByRole("button", { name: "Import CSV" }).click();
    const dialog = page.getByRole("dialog", { name: "Import suppressions from CSV" });
    await dialog.getByLabel("CSV file").setInputFiles({
      name: "list.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("email,sending_stream\ndave@example.com,transactional\nada@example.com,bulk\nbroken,any\n"),
    });
    await dialog.getByRole("button", { name: "Import" }).click();
    await dialog.getByText("1 address added, 1 already on the list.").waitFor();
    await dialog.getByText("Line 4: email 'broken' is invalid").waitFor();
    await dialog.getByRole("button", { name: "Done" }).click();
    await page.getByRole("cell", { name: "dave@example.com" }).waitFor();

    // A malformed file: the API's message, verbatim, and nothing imported.
    await page.getByRole("button", { name: "Import CSV" }).click();
    await dialog.getByLabel("CSV file").setInputFiles({
      name: "bad.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("name\nx\n"),
    });
    await dialog.getByRole("button", { name: "Import" }).click();
    await dialog.getByRole("alert").filter({ hasText: "file needs an 'email' column in its header row" }).waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await apiList()).length, 4);
  });

  test("reactivate removes the address", async () => {
    const row = rows().filter({ hasText: "bob@example.org" });
    await row.getByRole("button", { name: "Reactivate" }).click();
    await row.getByRole("button", { name: "Reactivate bob@example.org" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: "bob@example.org reactivated" }).waitFor();
    const listed = await apiList();
    assert.equal(listed.length, 3);
    assert.ok(!listed.some((s) => s.email === "bob@example.org"));
    // Chromium may log the 422 the test provoked (the malformed CSV) as a failed resource load; anything else
    // is a problem.
    assert.deepEqual(
      page.problems.filter((p) => !/Failed to load resource: the server responded with a status of 422/.test(p)),
      [],
    );
  });
});
