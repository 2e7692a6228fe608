// Sending Domains pages in real Chromium against the real binary: add a domain (and see a refusal verbatim), read
// its DNS records, publish them on a dnsmasq of our own, re-check and see every record pass, change settings and
// see them persist, export the records, delete the domain.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, signedInPage, screenshot, adminApi, freePort } from "./harness.mjs";

const ZONE = "lt.test";
const HOSTNAME = `mta.${ZONE}`; // --sending-hostname: every CNAME target; dnsmasq knows it (host-record)
const DOMAIN = `ui${Math.random().toString(16).slice(2, 8)}.${ZONE}`;

const quoted = (part) => `"${part.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
function dnsLine(record) {
  if (record.type === "CNAME") return `cname=${record.domain},${record.value}`;
  const parts = record.value.match(/.{1,255}/g) ?? [""];
  return `txt-record=${record.domain},${parts.map(quoted).join(",")}`;
}

// dnsmasq on a fixed loopback port answering for lt.test only (NXDOMAIN for the rest of the zone, no upstream);
// publish() rewrites its records and restarts it on the same port.
class Dns {
  constructor(port) {
    this.port = port;
    this.dir = mkdtempSync(path.join(tmpdir(), "postroom-ui-dns-"));
    this.conf = path.join(this.dir, "zones.conf");
    this.process = null;
  }
  async publish(records) {
    await this.stop();
    writeFileSync(this.conf, [`host-record=${HOSTNAME},127.0.0.1`, ...records.map(dnsLine)].join("\n") + "\n");
    this.process = spawn(
      "/usr/sbin/dnsmasq",
      [
        "--keep-in-foreground", `--conf-file=${this.conf}`, "--pid-file=", `--port=${this.port}`,
        "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", `--local=/${ZONE}/`,
        "--log-facility=/dev/null",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    this.process.stderr.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 10000;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
      const up = await new Promise((resolve) => {
        const c = createConnection({ host: "127.0.0.1", port: this.port }, () => (c.end(), resolve(true)));
        c.on("error", () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error("dnsmasq did not start listening");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async stop() {
    if (!this.process) return;
    const p = this.process;
    this.process = null;
    if (p.exitCode === null) {
      p.kill("SIGTERM");
      await new Promise((r) => p.once("exit", r));
    }
  }
  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe("Sending Domains UI", () => {
  let server;
  let browser;
  let page;
  let dns;
  let domainId;
  const A = () => `/api/accounts/${server.boot.account_id}`;

  before(async () => {
    const port = await freePort();
    dns = new Dns(port);
    await dns.publish([]); // the zone is served from the start: the domain's records are simply missing
    server = await startServer(["--dns-server", `127.0.0.1:${port}`, "--sending-hostname", HOSTNAME]);
    browser = await launchBrowser();
    page = await signedInPage(browser, server);
    // Signing in starts with the shell's session probe, a 401 by design: not a problem of these pages.
    page.problems.length = 0;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await dns?.close();
  });

  test("a refused domain name shows the API's error verbatim and the form stays usable", async () => {
    await page.getByRole("link", { name: "Sending Domains" }).click();
    await page.getByRole("heading", { name: "Sending Domains" }).waitFor();
    await page.getByLabel("Domain name").fill(`www.${DOMAIN}`);
    await page.getByRole("button", { name: "Add domain" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), new RegExp(`must not start with www\\. \\(add ${DOMAIN.replace(/\./g, "\\.")} instead\\)`));
    assert.ok(await page.getByLabel("Domain name").isEditable());
  });

  test("adding a domain opens its DNS records, with the domain's token shown once", async () => {
    await page.getByLabel("Domain name").fill(DOMAIN);
    await page.getByRole("button", { name: "Add domain" }).click();
    await page.waitForURL(/#\/domains\/\d+\/records$/);
    domainId = Number(/#\/domains\/(\d+)\//.exec(page.url())[1]);
    await page.getByRole("heading", { name: DOMAIN, level: 1 }).waitFor();
    await page.getByText("It is shown only now").waitFor();
    // The token shown is the domain's own, working token.
    const tokenPanel = page.locator(".dom-created-token");
    await tokenPanel.getByRole("button", { name: "Show" }).click();
    const token = (await tokenPanel.locator("code").innerText()).trim();
    const probe = await fetch(`${server.base}/api/sending_domains/${domainId}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(probe.status, 200);
    assert.equal((await probe.json()).domain_name, DOMAIN);
    await tokenPanel.getByRole("button", { name: "I have copied it" }).click();
    await tokenPanel.waitFor({ state: "detached" });

    const api = await adminApi(server, "GET", `${A()}/sending_domains/${domainId}`);
    const table = page.getByRole("table", { name: "DNS records" });
    for (const record of api.dns_records) {
      const row = table.getByTestId(`record-${record.key}`);
      await row.waitFor();
      const text = await row.innerText();
      assert.ok(text.includes(record.type), `${record.key} shows its type`);
      assert.ok(text.includes(record.domain), `${record.key} shows its full host`);
      assert.ok(text.includes(record.value.slice(0, 60)), `${record.key} shows its value`);
      assert.notEqual(await row.getAttribute("data-status"), "pass");
    }
    // Every record has copy buttons for host and value.
    await table.getByRole("button", { name: /^Copy value of dmarc/ }).waitFor();
    await page.getByTestId("domain-state").getByText("Unverified", { exact: true }).waitFor();

    // The exports come from the API: BIND by default, Route 53 and Cloudflare on their tabs.
    const exportsPanel = page.getByRole("region", { name: "Export the records" });
    await exportsPanel.getByText(`; Postroom sending records for ${DOMAIN}`).waitFor();
    await exportsPanel.getByRole("tab", { name: "Route 53" }).click();
    await exportsPanel.getByText('"UPSERT"').first().waitFor();
    await exportsPanel.getByRole("tab", { name: "Cloudflare" }).click();
    await exportsPanel.getByText('"proxied": false').first().waitFor();
  });

  test("publishing the records and pressing re-check turns every record to pass", async () => {
    const api = await adminApi(server, "GET", `${A()}/sending_domains/${domainId}`);
    await dns.publish(api.dns_records);
    await page.getByRole("button", { name: "Re-check DNS" }).click();
    const table = page.getByRole("table", { name: "DNS records" });
    for (const record of api.dns_records)
      await table.locator(`[data-testid="record-${record.key}"][data-status="pass"]`).waitFor({ timeout: 15000 });
    await page.getByTestId("domain-state").getByText("Verified", { exact: true }).waitFor();
    assert.equal(await table.getByText("Pass", { exact: true }).count(), api.dns_records.length);
    const after = await adminApi(server, "GET", `${A()}/sending_domains/${domainId}`);
    assert.equal(after.dns_verified, true);
    await screenshot(page, "domain-records");
  });

  test("the setup instructions are sent (captured in the System mail sandbox)", async () => {
    await page.getByLabel("Email address").fill("dns-admin@example.com");
    await page.getByRole("button", { name: "Send instructions" }).click();
    await page.getByText("Instructions for dns-admin@example.com are in the account's").waitFor();
    const inboxes = await adminApi(server, "GET", `${A()}/inboxes`);
    const system = inboxes.find((i) => i.name === "System mail");
    assert.ok(system, "the System mail sandbox exists");
    const messages = await adminApi(server, "GET", `${A()}/inboxes/${system.id}/messages`);
    assert.ok(messages.some((m) => m.to_email === "dns-admin@example.com" && m.subject.includes(DOMAIN)));
  });

  test("settings changes persist", async () => {
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.waitForURL(/#\/domains\/\d+\/settings$/);
    const click = page.getByLabel("Click tracking", { exact: true });
    assert.equal(await click.isChecked(), false);
    await click.check();
    await page.getByLabel("BCC addresses").fill("audit@example.com\narchive@example.com");
    await page.getByLabel("Header name").fill("X-Archive");
    await page.getByLabel("Alert recipient").fill("ops@example.com");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Settings saved.").waitFor();

    const saved = await adminApi(server, "GET", `${A()}/sending_domains/${domainId}`);
    assert.equal(saved.click_tracking_enabled, true);
    assert.equal(saved.custom_domain_tracking_enabled, true); // the server turns it on with click tracking
    assert.deepEqual(saved.auto_bcc.emails, ["audit@example.com", "archive@example.com"]);
    assert.equal(saved.auto_bcc.header_name, "X-Archive");
    assert.equal(saved.alert_recipient_email, "ops@example.com");

    await page.reload();
    await page.getByLabel("Click tracking", { exact: true }).waitFor();
    assert.equal(await page.getByLabel("Click tracking", { exact: true }).isChecked(), true);
    assert.equal(await page.getByLabel("Custom tracking domain").isChecked(), true);
    assert.equal(await page.getByLabel("BCC addresses").inputValue(), "audit@example.com\narchive@example.com");
    assert.equal(await page.getByRole("button", { name: "Save settings" }).isDisabled(), true); // nothing changed

    // A refused value comes back verbatim and the form keeps what was typed.
    await page.getByLabel("Header name").fill("Archive");
    await page.getByRole("button", { name: "Save settings" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /auto_bcc_header_name must be an X- header name/);
    assert.equal(await page.getByLabel("Header name").inputValue(), "Archive");
    await page.getByRole("button", { name: "Discard changes" }).click();
  });

  test("the integration tab shows SMTP and API samples for both streams", async () => {
    await page.getByRole("tab", { name: "Integration" }).click();
    await page.getByTestId("copy-Username").getByText("api").waitFor();
    const sample = page.getByRole("figure", { name: "curl sample" });
    assert.match(await sample.innerText(), /\/api\/send'/);
    assert.doesNotMatch(await sample.innerText(), /\/bulk\/api\/send/);
    await page.getByRole("tab", { name: "Bulk stream" }).click();
    assert.match(await page.getByRole("figure", { name: "curl sample" }).innerText(), /\/bulk\/api\/send'/);
    await page.getByRole("tab", { name: "Node.js" }).click();
    assert.match(await page.getByRole("figure", { name: "node sample" }).innerText(), /bulk: true/);
    await page.getByRole("tab", { name: "Python" }).click();
    assert.match(await page.getByRole("figure", { name: "python sample" }).innerText(), /urllib\.request/);
  });

  test("the list shows the domain verified; deleting asks first, then removes it", async () => {
    await page.getByRole("link", { name: "Sending Domains", exact: true }).first().click();
    await page.waitForURL(/#\/domains$/);
    const row = page.getByTestId(`domain-row-${DOMAIN}`);
    await row.getByText("Verified", { exact: true }).waitFor();
    assert.match(await row.innerText(), /7 of 7 records passing/);
    await screenshot(page, "domains-list");

    await row.getByRole("link", { name: DOMAIN }).click();
    await page.getByRole("button", { name: "Delete domain" }).click();
    await page.getByRole("button", { name: "Cancel" }).click(); // asking again is harmless
    await page.getByRole("button", { name: "Delete domain" }).click();
    await page.getByRole("button", { name: `Delete ${DOMAIN}` }).click();
    await page.waitForURL(/#\/domains$/);
    await page.getByRole("table", { name: "Sending domains" }).waitFor();
    assert.equal(await page.getByTestId(`domain-row-${DOMAIN}`).count(), 0);
    const list = await adminApi(server, "GET", `${A()}/sending_domains`);
    assert.ok(!list.data.some((d) => d.domain_name === DOMAIN));
    // The refusals this file provokes on purpose (422) may be logged by Chromium as failed loads; nothing else may be.
    const expected = /Failed to load resource: the server responded with a status of 422/;
    assert.deepEqual(page.problems.filter((p) => !expected.test(p)), []);
  });
});
