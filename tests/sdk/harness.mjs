// Starts the real postroom binary on a loopback port (SQLite, or a fresh PostgreSQL database when
// POSTROOM_TEST_DATABASE is a postgres:// URL) and builds official, unmodified Mailtrap SDK clients whose
// requests are redirected to it (WIRE-COMPATIBILITY §1.1, method 1: an interceptor on the client's axios).
import { spawn, execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const { MailtrapClient } = require("mailtrap");

const BIN = process.env.POSTROOM_BIN ?? "build/postroom";
const DATABASE = process.env.POSTROOM_TEST_DATABASE ?? "sqlite";

function ephemeralLow() {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const bindable = (socket, port) =>
  new Promise((resolve) => {
    socket.once("error", () => resolve(false));
    const bound = () => socket.close(() => resolve(true));
    if (socket.listen) socket.listen(port, "127.0.0.1", bound);
    else socket.bind(port, "127.0.0.1", bound);
  });

// A loopback port free for TCP and UDP, below the kernel's ephemeral range: a port from listen(0) would be in that
// range, where any outgoing connection on the machine (Chromium, psql, fetch) can take it before the server binds
// it. Parallel suites picking the same port are rare and met by startPostroom's retry.
export async function freePort() {
  const low = Math.max(ephemeralLow(), 2048);
  const first = 1024 + Math.floor((low - 1024) / 4);
  for (let i = 0; i < 200; i++) {
    const port = first + Math.floor(Math.random() * (low - first));
    if ((await bindable(createServer(), port)) && (await bindable(dgram.createSocket("udp4"), port))) return port;
  }
  throw new Error("no free loopback port below the ephemeral range");
}

// Starts `postroom serve` on fresh ports and waits for /readyz; null when it exited because a port was taken.
async function serveOnFreePorts(dir, dataDir, dbArgs, extraArgs) {
  const port = await freePort();
  // Its own sandbox SMTP port too: servers of parallel suites must not compete for the default 2525.
  const smtpPort = await freePort();
  const submissionPort = await freePort();
  const bulkPort = await freePort();
  const pop3Port = await freePort();
  const logPath = path.join(dir, `server-${port}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(
    BIN,
    [
      "serve", "--data-dir", dataDir, ...dbArgs, "--http", `127.0.0.1:${port}`, "--sandbox-smtp", `127.0.0.1:${smtpPort}`,
      "--smtp", `127.0.0.1:${submissionPort}`, "--smtp-bulk", `127.0.0.1:${bulkPort}`,
      "--sandbox-pop3", `127.0.0.1:${pop3Port}`, ...extraArgs,
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  let exited = false;
  child.once("exit", () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (exited) {
      const output = readFileSync(logPath, "utf8");
      if (output.includes("Address already in use")) return null;
      throw new Error(`postroom exited before it was ready:\n${output}`);
    }
    if (i > 600) throw new Error(`postroom did not become ready:\n${readFileSync(logPath, "utf8")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, base, smtpPort, submissionPort, bulkPort, pop3Port };
}

export async function startPostroom(extraArgs = []) {
  const dir = mkdtempSync(path.join(tmpdir(), "postroom-sdk-"));
  const dataDir = path.join(dir, "data");
  let dbArgs = [];
  let pgName = null;
  if (DATABASE !== "sqlite") {
    pgName = `pr_sdk_${Math.random().toString(16).slice(2, 14)}`;
    execFileSync("psql", [DATABASE, "-qc", `CREATE DATABASE ${pgName}`]);
    dbArgs = ["--database", DATABASE.replace(/\/[^/]*$/, `/${pgName}`)];
  }
  const boot = JSON.parse(
    execFileSync(BIN, ["admin", "bootstrap", "--data-dir", dataDir, ...dbArgs, "--json"], { encoding: "utf8" }),
  );
  // A chosen port can still be taken by a parallel suite before the server binds it: start again on others.
  let started;
  for (let attempt = 0; !started; attempt++) {
    started = await serveOnFreePorts(dir, dataDir, dbArgs, extraArgs);
    if (!started && attempt === 3) throw new Error("postroom could not bind its ports");
  }
  const { child, base, smtpPort, submissionPort, bulkPort, pop3Port } = started;
  return {
    base,
    boot,
    smtpPort,
    submissionPort,
    bulkPort,
    pop3Port,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      if (pgName) execFileSync("psql", [DATABASE, "-qc", `DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// An official SDK client whose every request goes to Postroom instead of mailtrap.io.
export function sdkClient(server, options) {
  const client = new MailtrapClient(options);
  client.axios.interceptors.request.use((cfg) => {
    const url = new URL(cfg.url);
    cfg.headers["X-Mailtrap-Host"] = url.host;
    cfg.url = `${server.base}${url.pathname}${url.search}`;
    return cfg;
  });
  return client;
}

// Plain HTTP for what the SDK cannot express (for example a token-scoped alias path).
export async function api(server, method, pathname, token, body) {
  const response = await fetch(`${server.base}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: text ? JSON.parse(text) : null,
  };
}
