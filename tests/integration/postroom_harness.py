"""Runs the real postroom binary for black-box tests: a data dir (and, when POSTROOM_TEST_DATABASE is a
postgres:// URL, a fresh PostgreSQL database), bootstrap, serve on a free loopback port, HTTP helpers."""

import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid

BIN = os.environ.get("POSTROOM_BIN", "build/postroom")
DATABASE = os.environ.get("POSTROOM_TEST_DATABASE", "sqlite")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port free for TCP and UDP, below the kernel's ephemeral range: a port bind(0) returned would be
    in that range, where every outgoing connection on the machine (a browser, psql, an HTTP client) can take it
    before the server binds it. Parallel suites picking the same port are rare and met by Installation.start."""
    low = max(_ephemeral_low(), 2048)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(1024 + (low - 1024) // 4, low)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise OSError("no free loopback port below the ephemeral range")


class PortTaken(AssertionError):
    """The server exited because a port chosen for it was taken meanwhile."""


class Installation:
    """One Postroom installation: its storage, and at most one running server."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-test-")
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.db_args = []
        self.pg_name = None
        if DATABASE != "sqlite":
            self.pg_name = "pr_it_" + uuid.uuid4().hex[:12]
            subprocess.run(["psql", DATABASE, "-qc", f"CREATE DATABASE {self.pg_name}"], check=True)
            self.db_args = ["--database", self.pg_url()]
        self.process = None
        self.port = None

    def pg_url(self):
        return DATABASE.rsplit("/", 1)[0] + "/" + self.pg_name

    def bootstrap(self):
        out = subprocess.run([BIN, "admin", "bootstrap", "--data-dir", self.data_dir, *self.db_args, "--json"],
                             check=True, capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)

    # Listeners on by default, each given a free port unless a test names one: servers of parallel suites must
    # not compete for the default ports.
    LISTENERS = ("--sandbox-smtp", "--smtp", "--smtp-bulk", "--sandbox-pop3")

    def start(self, *extra, more_listeners=()):
        """`more_listeners`: optional listeners (e.g. --sandbox-smtps) to give a free port too. The ports chosen
        here are in `listener_ports`."""
        # A free port can be taken by a parallel suite between free_port() and the server's bind: start again on
        # other ports then (the ports a test chose itself stay as they are).
        for attempt in range(4):
            try:
                return self._start_once(extra, more_listeners)
            except PortTaken:
                if attempt == 3:
                    raise

    def _start_once(self, extra, more_listeners):
        self.port = free_port()
        self.listener_ports = {}
        for flag in (*self.LISTENERS, *more_listeners):
            if flag not in extra:
                self.listener_ports[flag] = free_port()
                extra = (flag, f"127.0.0.1:{self.listener_ports[flag]}", *extra)
        # Output goes to files: a full pipe would block the server's logging.
        self.stdout = open(os.path.join(self.tmp.name, f"stdout-{self.port}"), "w+")
        self.stderr = open(os.path.join(self.tmp.name, f"stderr-{self.port}"), "w+")
        self.process = subprocess.Popen(
            [BIN, "serve", "--data-dir", self.data_dir, *self.db_args, "--http", f"127.0.0.1:{self.port}", *extra],
            stdout=self.stdout, stderr=self.stderr, text=True)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline and (self.process is None or self.process.poll() is None):
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stderr.seek(0)
        errors = self.stderr.read()
        if self.process is not None and self.process.poll() is not None and "Address already in use" in errors:
            raise PortTaken(errors)
        raise AssertionError("server did not become ready: " + errors)

    def request(self, method, path, token=None, body=None, headers=None, raw_body=None):
        """Returns (status, parsed JSON or raw bytes, response headers as a dict)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        all_headers = {"Content-Type": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        conn.close()
        parsed = json.loads(data) if data and "json" in response_headers.get("content-type", "") else data
        return response.status, parsed, response_headers

    def query(self, sql, *params):
        """Reads the store directly (test fixtures only: ids the API does not expose)."""
        if self.pg_name:
            text = sql.replace("?", "%s") % tuple(repr(p) if isinstance(p, str) else p for p in params)
            out = subprocess.run(["psql", self.pg_url(), "-tAc", text], check=True, capture_output=True, text=True)
            return [line.split("|") for line in out.stdout.splitlines() if line]
        with sqlite3.connect(os.path.join(self.data_dir, "postroom.db")) as db:
            return [[str(v) for v in row] for row in db.execute(sql, params)]

    def stop(self, sig=signal.SIGTERM):
        """Stops the server and returns what it printed on stdout."""
        if not self.process:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.process = None
        self.stdout.seek(0)
        out = self.stdout.read()
        self.stdout.close()
        self.stderr.close()
        return out

    def close(self):
        self.stop(signal.SIGKILL)
        if self.pg_name:
            subprocess.run(["psql", DATABASE, "-qc", f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)"],
                           check=False, capture_output=True)
        self.tmp.cleanup()
