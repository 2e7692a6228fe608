// Drives the real postroom binary with headless Chromium (Debian's, through playwright-core from web/):
// starts a server on loopback (tests/sdk/harness.mjs), signs in through the UI, sends mail with Python's
// smtplib, and saves screenshots into docs/screenshots/ when POSTROOM_SCREENSHOTS names that folder.
//
// Development shortcut: POSTROOM_UI_DEV=1 serves web/ from a Vite dev server proxying /api to the test's
// server, so page changes need no rebuild of the binary (the CSP and embedding are then not exercised).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startPostroom, freePort } from "../sdk/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, "../../web");
const require = createRequire(path.join(webDir, "package.json"));
const { chromium } = require("playwright-core");

export { startPostroom, freePort };

export async function startServer(extraArgs = []) {
  const server = await startPostroom(extraArgs);
  server.uiBase = server.base;
  if (process.env.POSTROOM_UI_DEV === "1") {
    const { createServer } = await import(require.resolve("vite"));
    const vite = await createServer({
      root: webDir,
      configFile: path.join(webDir, "vite.config.ts"),
      logLevel: "error",
      // No HMR: a file saved meanwhile must not reload the page under a running test.
      server: { host: "127.0.0.1", port: 0, hmr: false, proxy: { "/api": { target: server.base, changeOrigin: false } } },
    });
    await vite.listen();
    const address = vite.httpServer.address();
    server.uiBase = `http://127.0.0.1:${address.port}`;
    const stop = server.stop;
    server.stop = async () => {
      await vite.close();
      await stop();
    };
  }
  return server;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.POSTROOM_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Sandboxed iframes in the renderer of their page: when each gets a process of its own, playwright sometimes
      // misses the frame's attach (window.frames has it, page.frames() never does) if its src changes quickly under
      // load, as the template preview's does. The sandbox itself (no scripts, opaque origin) is enforced either way.
      "--disable-features=IsolateSandboxedIframes",
    ],
  });
}

// A fresh browser context and page, with console errors and page errors collected (tests assert none), and
// the admin signed in through the sign-in form.
export async function signedInPage(browser, server, { email, password } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  watchProblems(page);
  await page.goto(`${server.uiBase}/`);
  await page.getByLabel("Email").fill(email ?? server.boot.admin_email);
  await page.getByLabel("Password").fill(password ?? server.boot.admin_password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  return page;
}

// Collects what must never happen on a page into page.problems: script errors, console errors other than
// Chromium's own note about an API answer the page handles (4xx/503 shown to the user), and any failed load of
// the UI's own files.
export function watchProblems(page) {
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (/^Failed to load resource: the server responded with a status of (4\d\d|503)/.test(message.text())) return;
    page.problems.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (response.status() >= 400 && !url.pathname.startsWith("/api/"))
      page.problems.push(`${response.status()} for ${url.pathname}`);
  });
  page.on("requestfailed", (request) => {
    const url = new URL(request.url());
    // Navigations away (a closed EventSource, an aborted fetch) are not failures of the page.
    if (!url.pathname.startsWith("/api/")) page.problems.push(`failed: ${url.pathname} ${request.failure()?.errorText}`);
  });
}

export async function screenshot(page, name) {
  const dir = process.env.POSTROOM_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

// Sends one message with Python's smtplib to the server's sandbox SMTP port (the bootstrap sandbox's
// credentials unless others are given). `message` is the full RFC 5322 text.
export function sendWithSmtplib(server, message, { username, password, from = "app@example.test", to = ["user@example.test"] } = {}) {
  const script = `
import smtplib, sys, json
args = json.loads(sys.argv[1])
with smtplib.SMTP("127.0.0.1", args["port"], timeout=20) as s:
    s.login(args["username"], args["password"])
    s.sendmail(args["from"], args["to"], sys.stdin.buffer.read())
`;
  const result = spawnSync(
    "python3",
    [
      "-c",
      script,
      JSON.stringify({
        port: server.smtpPort,
        username: username ?? server.boot.smtp_username,
        password: password ?? server.boot.smtp_password,
        from,
        to,
      }),
    ],
    { input: Buffer.from(message), encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`smtplib failed: ${result.stderr}`);
}

// Plain API call with the bootstrap admin token (test set-up that is not what the test is about).
export async function adminApi(server, method, pathname, body) {
  const response = await fetch(`${server.base}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${server.boot.api_token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep text
  }
  if (!response.ok) throw new Error(`${method} ${pathname} → ${response.status}: ${text}`);
  return parsed;
}

export function python(args, input) {
  return execFileSync("python3", args, { input, encoding: "utf8" });
}
