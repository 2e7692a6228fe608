"""Malformed, oversized, hostile and unauthorized input against the real binary: each gets the documented
status and JSON error, and changes nothing."""

import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import Installation  # noqa: E402

JSON_TYPE = "application/json; charset=utf-8"


def raw_exchange(port, data, timeout=5):
    """Sends raw bytes and returns everything the server answers before closing or going quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Content-Length: " in b"".join(chunks):
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except socket.timeout:
            pass
        return b"".join(chunks).decode("utf-8", "replace")


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation()
        cls.boot = cls.inst.bootstrap()
        cls.inst.start("--max-body-bytes", "1048576", "--header-timeout", "1")
        cls.token = cls.boot["api_token"]
        cls.account = cls.boot["account_id"]

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def tokens(self):
        status, body, _ = self.inst.request("GET", "/api/api_tokens", self.token)
        self.assertEqual(status, 200)
        return body

    def assert_error(self, response, status, body=None):
        actual_status, actual_body, headers = response
        self.assertEqual(actual_status, status, actual_body)
        self.assertEqual(headers.get("content-type"), JSON_TYPE)
        self.assertIsInstance(actual_body, dict)
        if body is not None:
            self.assertEqual(actual_body, body)
        return actual_body

    def test_malformed_json_is_400_with_a_reason_and_creates_nothing(self):
        before = self.tokens()
        for raw in ('{"name": "x", "resources": [', "not json", '{"name":"x"} trailing', "\xff\xfe",
                    "[" * 5000 + "]" * 5000):
            body = self.assert_error(self.inst.request("POST", "/api/api_tokens", self.token, raw_body=raw), 400)
            self.assertIn("Malformed JSON", body["error"])
        self.assertEqual(self.tokens(), before)

    def test_wrong_types_are_rejected_and_create_nothing(self):
        before = self.tokens()
        cases = [
            ({"name": 5, "resources": []}, 400, "'name' must be a string"),
            ({"name": "x", "resources": "all"}, 400, "'resources' must be an array"),
            ({"name": "x", "resources": [7]}, 400, "'resources[0]' must be a JSON object"),
            ({"name": "x", "resources": [{"resource_type": [], "resource_id": 1, "access_level": 100}]}, 400, None),
            ({"name": "x", "resources": [{"resource_type": "account", "resource_id": 1.5, "access_level": 100}]}, 400,
             None),
            ({"name": "x", "expires_at": 12, "resources": []}, 400, None),
            ([1, 2, 3], 400, "'body' must be a JSON object"),
        ]
        for payload, status, message in cases:
            body = self.assert_error(self.inst.request("POST", "/api/api_tokens", self.token, payload), status)
            if message:
                self.assertEqual(body["error"], message)
        validation = self.assert_error(self.inst.request("POST", "/api/api_tokens", self.token, {
            "name": "x", "resources": [{"resource_type": "galaxy", "resource_id": 1, "access_level": 100}]}), 422)
        self.assertIn("resources", validation["errors"])
        self.assertEqual(self.tokens(), before)

    def test_oversized_bodies_get_413_and_create_nothing(self):
        before = self.tokens()
        big = json.dumps({"name": "x" * (2 * 1024 * 1024), "resources": []})
        body = self.assert_error(self.inst.request("POST", "/api/api_tokens", self.token, raw_body=big), 413)
        self.assertIn("1048576", body["error"])
        # Headers first, body later: the 413 must arrive even though no body byte was read yet.
        with socket.create_connection(("127.0.0.1", self.inst.port), timeout=5) as s:
            s.sendall(b"POST /api/api_tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + self.token.encode() +
                      b"\r\nContent-Length: 2000000\r\n\r\n")
            time.sleep(0.2)
            for _ in range(30):
                s.sendall(b"x" * 65536)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 413"))
        # Without Content-Length (chunked), the limit still holds while reading.
        chunk = b"x" * 65536
        request = (b"POST /api/api_tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + self.token.encode() +
                   b"\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
        request += b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
        reply = raw_exchange(self.inst.port, request)
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply[:200])
        self.assertEqual(self.tokens(), before)

    def test_unknown_routes_and_impossible_ids_are_404(self):
        # "/" is the web UI (test_web_ui.py); other unknown paths are 404.
        for method, path in [("GET", "/api/nothing"), ("GET", "/nothing"), ("DELETE", "/api/accounts"),
                             ("GET", "/api/api_tokens/abc"), ("GET", "/api/api_tokens/-5"),
                             ("GET", "/api/api_tokens/99999999999999999999999"), ("PATCH", "/api/api_tokens/1"),
                             ("GET", f"/api/accounts/{self.account}/api_tokens/0")]:
            self.assert_error(self.inst.request(method, path, self.token), 404, {"error": "Not Found"})

    def test_missing_invalid_and_deleted_tokens_are_401(self):
        unauthorized = {"error": "Incorrect API token"}
        self.assert_error(self.inst.request("GET", "/api/accounts", None), 401, unauthorized)
        self.assert_error(self.inst.request("GET", "/api/accounts", "garbage"), 401, unauthorized)
        self.assert_error(self.inst.request("GET", "/api/accounts", "x" * 5000), 401, unauthorized)
        self.assert_error(self.inst.request("GET", "/api/accounts", None, headers={"Authorization": "Basic YTpi"}), 401)
        ok = self.inst.request("GET", "/api/accounts", None, headers={"Api-Token": self.token})
        self.assertEqual(ok[0], 200, "Api-Token works as well as Bearer")
        _, created, _ = self.inst.request("POST", "/api/api_tokens", self.token, {
            "name": "doomed", "resources": [{"resource_type": "account", "resource_id": self.account, "access_level": 10}]})
        self.assertEqual(self.inst.request("GET", "/api/accounts", created["token"])[0], 200)
        self.assertEqual(self.inst.request("DELETE", f"/api/api_tokens/{created['id']}", self.token)[0], 204)
        self.assert_error(self.inst.request("GET", "/api/accounts", created["token"]), 401, unauthorized)

    def test_bare_cr_or_lf_in_header_values_is_rejected_without_effect(self):
        before = self.tokens()
        body = json.dumps({"name": "smuggled", "resources": [{"resource_type": "account", "resource_id": self.account,
                                                            "access_level": 100}]}).encode()
        for separator in (b"\r", b"\n"):
            request = (b"POST /api/api_tokens HTTP/1.1\r\nHost: t\r\nX-Note: a" + separator + b"b\r\nAuthorization: "
                       b"Bearer " + self.token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
                       str(len(body)).encode() + b"\r\n\r\n" + body)
            reply = raw_exchange(self.inst.port, request)
            self.assertTrue(reply.startswith("HTTP/1.1 400"), repr(reply[:200]))
            self.assertIn(JSON_TYPE, reply)
        self.assertEqual(self.tokens(), before)

    def test_client_values_are_never_reflected_into_response_headers(self):
        status, _, headers = self.inst.request("GET", "/api/accounts", self.token,
                                               headers={"X-Request-Id": "abc<script>"})
        self.assertEqual(status, 200)
        self.assertNotIn("<script>", headers["x-request-id"])
        status, _, headers = self.inst.request("GET", "/api/accounts", self.token,
                                               headers={"X-Request-Id": "trace-42_ok.1"})
        self.assertEqual(headers["x-request-id"], "trace-42_ok.1", "a safe client id is kept for tracing")
        reply = raw_exchange(self.inst.port, b"GET /api/accounts%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: t\r\n"
                                             b"Authorization: Bearer " + self.token.encode() + b"\r\n\r\n")
        head = reply.split("\r\n\r\n")[0]
        self.assertNotIn("Set-Cookie", head)
        self.assertTrue(head.startswith("HTTP/1.1 404"), head)

    def test_slow_headers_are_cut_off(self):
        with socket.create_connection(("127.0.0.1", self.inst.port), timeout=5) as s:
            s.sendall(b"GET /api/accounts HTTP/1.1\r\nHost: t\r\n")
            started = time.time()
            self.assertEqual(s.recv(100), b"", "the server closes a connection that stalls in its headers")
            self.assertLess(time.time() - started, 4)

    def test_oversized_headers_get_431(self):
        reply = raw_exchange(self.inst.port, b"GET /api/accounts HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 +
                             b"\r\n\r\n")
        self.assertTrue(reply.startswith("HTTP/1.1 431"), reply[:100])

    def test_bad_query_values_are_400(self):
        body = self.assert_error(self.inst.request("GET", "/api/account_accesses?inbox_ids[]=x", self.token), 400)
        self.assertIn("inbox_ids", body["error"])


class RateLimit(unittest.TestCase):
    def setUp(self):
        self.inst = Installation()
        self.addCleanup(self.inst.close)
        self.token = self.inst.bootstrap()["api_token"]
        self.inst.start("--rate-limit-requests", "5", "--rate-limit-window", "60")

    def test_the_sixth_request_in_a_window_is_429(self):
        statuses = []
        for _ in range(5):
            status, _, headers = self.inst.request("GET", "/api/accounts", self.token)
            statuses.append(status)
        self.assertEqual(statuses, [200] * 5)
        self.assertEqual(headers["x-ratelimit-limit"], "5")
        self.assertEqual(headers["x-ratelimit-remaining"], "0")
        status, body, headers = self.inst.request("GET", "/api/accounts", self.token)
        self.assertEqual(status, 429)
        self.assertEqual(body, {"errors": "Rate limit exceeded"})
        self.assertEqual(headers["content-type"], JSON_TYPE)
        other = self.inst.bootstrap()["api_token"]
        self.assertEqual(self.inst.request("GET", "/api/accounts", other)[0], 200, "limits are per token")


if __name__ == "__main__":
    unittest.main()
