// Web UI first render with 10,000 captured messages: Postroom's sandbox page against MailDev's web UI (npm,
// pinned in bench/package.json), both filled with the same MESSAGES messages over SMTP (Python smtplib), both
// opened in the same headless Chromium (Debian's, through playwright-core from web/node_modules). "First render"
// = from navigation start until the newest message's subject is visible in the list; median of RUNS cold page
// loads (new browser context each, so nothing is cached). Also prints the UI bundle's gzip size.
// Run through bench/ui_render.sh (it builds, starts both servers and passes their addresses in the environment).
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";

const require = createRequire(path.resolve("web/package.json"));
const { chromium } = require("playwright-core");

const env = process.env;
const runs = Number(env.RUNS ?? 5);
const newestSubject = env.NEWEST_SUBJECT;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeFirstRender(browser, url, prepare) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    if (prepare) await prepare(context);
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(url);
    await page.getByText(newestSubject, { exact: false }).first().waitFor({ state: "visible", timeout: 60_000 });
    const fromNavigation = await page.evaluate(() => performance.now());
    times.push(Math.round(Math.min(Date.now() - started, fromNavigation)));
    await context.close();
  }
  return times;
}

const browser = await chromium.launch({
  executablePath: env.POSTROOM_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// Postroom: sign in once through the API to get the session cookie, then load the sandbox route cold.
const signIn = await fetch(`${env.POSTROOM_URL}/api/session`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
});
if (signIn.status !== 200) throw new Error(`sign-in failed: ${signIn.status} ${await signIn.text()}`);
const cookie = signIn.headers.get("set-cookie").split(";")[0].split("=");
const url = new URL(env.POSTROOM_URL);
const postroom = await timeFirstRender(browser, `${env.POSTROOM_URL}/#/sandbox/${env.INBOX_ID}`, (context) =>
  context.addCookies([{ name: cookie[0], value: cookie[1], domain: url.hostname, path: "/", httpOnly: true }]),
);
const maildev = await timeFirstRender(browser, `${env.MAILDEV_URL}/`);
await browser.close();

let gzipBytes = 0;
let rawBytes = 0;
const assets = path.join(env.WEB_DIST, "assets");
for (const file of readdirSync(assets)) {
  const data = readFileSync(path.join(assets, file));
  rawBytes += data.length;
  gzipBytes += gzipSync(data, { level: 9 }).length;
}

const p = median(postroom);
const m = median(maildev);
console.log(`messages per sandbox     ${env.MESSAGES}`);
console.log(`Postroom first render    ${p} ms median (runs: ${postroom.join(", ")})   target < 1000 ms: ${p < 1000 ? "met" : "NOT met"}`);
console.log(`MailDev first render     ${m} ms median (runs: ${maildev.join(", ")})`);
console.log(`MailDev / Postroom       ${(m / p).toFixed(2)} x`);
console.log(`UI bundle                ${(rawBytes / 1024).toFixed(1)} KB, ${(gzipBytes / 1024).toFixed(1)} KB gzip   target <= 300 KB gzip: ${gzipBytes <= 300 * 1024 ? "met" : "NOT met"}`);
