"""The postroom binary as a user runs it: bootstrap, first start, help/version, graceful shutdown,
durability across kill -9, and the HTTPS listener. Runs against SQLite or PostgreSQL
(POSTROOM_TEST_DATABASE), with the real binary named by POSTROOM_BIN."""

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from postroom_harness import BIN, Installation, free_port


class CliTest(unittest.TestCase):
    def setUp(self):
        self.inst = Installation()
        self.addCleanup(self.inst.close)

    def test_bootstrap_json_is_a_stable_public_interface(self):
        first = self.inst.bootstrap()
        self.assertEqual(list(first), ["account_id", "organization_id", "api_token", "project_id", "inbox_id",
                                       "smtp_username", "smtp_password", "admin_email", "admin_password"])
        self.assertRegex(first["api_token"], r"^[0-9a-f]{64}$")
        self.assertIsInstance(first["admin_password"], str)
        self.assertGreaterEqual(len(first["admin_password"]), 16)
        second = self.inst.bootstrap()
        self.assertNotEqual(second["api_token"], first["api_token"], "tokens are never shown twice")
        self.assertIsNone(second["admin_password"])
        for key in ("account_id", "organization_id", "project_id", "inbox_id", "smtp_username", "smtp_password"):
            self.assertEqual(second[key], first[key], key)
        self.inst.start()
        for token in (first["api_token"], second["api_token"]):
            status, accounts, _ = self.inst.request("GET", "/api/accounts", token)
            self.assertEqual(status, 200)
            self.assertEqual(accounts[0]["id"], first["account_id"])

    def test_first_start_prints_what_is_needed_to_connect_once(self):
        self.inst.start()
        output = self.inst.stop()
        for label in ("API / UI URL", "Account ID", "Admin API token", "Admin user", "Sandbox SMTP", "username",
                      "password"):
            self.assertIn(label, output)
        token = re.search(r"Admin API token\s+([0-9a-f]{64})", output).group(1)
        self.inst.start()
        self.assertEqual(self.inst.request("GET", "/api/accounts", token)[0], 200)
        self.assertNotIn("Admin API token", self.inst.stop(), "secrets are printed only on the first start")

    def test_help_and_version(self):
        out = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, check=True).stdout
        for option in ("--data-dir", "--database", "--http", "--sandbox-smtp", "--smtp", "--smtp-bulk", "--public-url",
                       "--tls-cert", "--tls-key", "--config", "POSTROOM_DATA_DIR"):
            self.assertIn(option, out)
        version = subprocess.run([BIN, "version"], capture_output=True, text=True, check=True).stdout
        self.assertRegex(version, r"^postroom \d+\.\d+\.\d+")
        bad = subprocess.run([BIN, "serve", "--http", "nowhere"], capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--http", bad.stderr)

    def test_sigterm_finishes_the_request_in_flight_and_closes_idle_connections(self):
        token = self.inst.bootstrap()["api_token"]
        self.inst.start()
        body = json.dumps({"name": "in flight", "resources": [{"resource_type": "account", "resource_id": 1,
                                                              "access_level": 100}]}).encode()
        busy = socket.create_connection(("127.0.0.1", self.inst.port))
        idle = socket.create_connection(("127.0.0.1", self.inst.port))
        busy.sendall(b"POST /api/api_tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token.encode() +
                     b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                     b"\r\n\r\n" + body[:5])
        time.sleep(0.3)
        self.inst.process.send_signal(signal.SIGTERM)
        idle.settimeout(5)
        self.assertEqual(idle.recv(1), b"", "an idle keep-alive connection is closed at once")
        idle.close()
        busy.sendall(body[5:])
        busy.settimeout(10)
        reply = busy.recv(65536).decode()
        self.assertTrue(reply.startswith("HTTP/1.1 200"), reply)
        self.assertIn("Connection: close", reply)
        busy.close()
        self.assertEqual(self.inst.process.wait(timeout=10), 0)
        self.inst.stop()
        self.inst.start()
        status, tokens, _ = self.inst.request("GET", "/api/api_tokens", token)
        self.assertIn("in flight", [t["name"] for t in tokens], "the in-flight request was committed")

    def test_kill_9_loses_no_acknowledged_write(self):
        token = self.inst.bootstrap()["api_token"]
        self.inst.start()
        acknowledged = []
        lock = threading.Lock()

        def create(n):
            for i in range(10):
                name = f"durable-{n}-{i}"
                status, _, _ = self.inst.request("POST", "/api/api_tokens", token, {
                    "name": name, "resources": [{"resource_type": "account", "resource_id": 1, "access_level": 10}]})
                if status == 200:
                    with lock:
                        acknowledged.append(name)

        threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.inst.stop(signal.SIGKILL)  # right after the last acknowledgement
        self.assertEqual(len(acknowledged), 80)
        self.inst.start()
        status, tokens, _ = self.inst.request("GET", "/api/api_tokens", token)
        self.assertEqual(status, 200)
        names = {t["name"] for t in tokens}
        self.assertEqual([n for n in acknowledged if n not in names], [])

    def test_https_listener_with_generated_certificate(self):
        token = self.inst.bootstrap()["api_token"]
        https_port = free_port()
        self.inst.start("--https", f"127.0.0.1:{https_port}")
        cert = os.path.join(self.inst.data_dir, "tls", "cert.pem")
        self.assertTrue(os.path.exists(cert))
        key_mode = os.stat(os.path.join(self.inst.data_dir, "tls", "key.pem")).st_mode & 0o777
        self.assertEqual(key_mode, 0o600)
        context = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("localhost", https_port, context=context, timeout=10)
        conn.request("GET", "/api/accounts", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), "application/json; charset=utf-8")
        self.assertEqual(json.loads(response.read())[0]["access_levels"], [100])
        conn.close()

    def test_environment_and_config_file_configure_serve(self):
        self.inst.bootstrap()
        port = free_port()
        config = os.path.join(self.inst.tmp.name, "postroom.toml")
        with open(config, "w") as f:
            f.write(f'http = "127.0.0.1:{free_port()}"\nrate_limit_requests = 3\n')
        env = dict(os.environ, POSTROOM_HTTP=f"127.0.0.1:{port}", POSTROOM_CONFIG=config,
                   POSTROOM_SANDBOX_SMTP=f"127.0.0.1:{free_port()}", POSTROOM_SMTP=f"127.0.0.1:{free_port()}",
                   POSTROOM_SMTP_BULK=f"127.0.0.1:{free_port()}", POSTROOM_SANDBOX_POP3=f"127.0.0.1:{free_port()}")
        process = subprocess.Popen([BIN, "serve", "--data-dir", self.inst.data_dir, *self.inst.db_args],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.inst.port = port  # the environment wins over the config file
            deadline = time.time() + 30
            while True:
                try:
                    if self.inst.request("GET", "/readyz")[0] == 200:
                        break
                except OSError:
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
            token = self.inst.bootstrap()["api_token"]
            statuses = [self.inst.request("GET", "/api/accounts", token)[0] for _ in range(4)]
            self.assertEqual(statuses, [200, 200, 200, 429], "rate limit from the config file")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()
