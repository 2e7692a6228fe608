"""The web UI's server side against the real binary: sign-in sessions (cookie flags, CSRF, sign-out, throttling),
the session cookie on the account API with the same access rules as tokens (viewer vs admin, tenant isolation),
users (CLI and API), account rename, and the embedded UI files with their security headers. Runs against SQLite
or PostgreSQL (POSTROOM_TEST_DATABASE)."""

import gzip
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from postroom_harness import BIN, Installation, free_port

COOKIE = "postroom_session"


class Browser:
    """A signed-in (or not) browser: the session cookie plus the CSRF token the sign-in answered."""

    def __init__(self, inst):
        self.inst = inst
        self.session = None
        self.csrf = None

    def sign_in(self, email, password):
        status, body, headers = self.inst.request("POST", "/api/session", body={"email": email, "password": password})
        if status == 200:
            self.session = re.search(COOKIE + r"=([0-9a-f]{64});", headers["set-cookie"]).group(1)
            self.csrf = body["csrf_token"]
        return status, body, headers

    def request(self, method, path, body=None, csrf=True, headers=None):
        all_headers = {}
        if self.session:
            all_headers["Cookie"] = f"{COOKIE}={self.session}"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            all_headers["X-CSRF-Token"] = self.csrf
        all_headers.update(headers or {})
        return self.inst.request(method, path, body=body, headers=all_headers)


class WebUiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation()
        cls.boot = cls.inst.bootstrap()
        cls.inst.start()
        cls.token = cls.boot["api_token"]
        cls.account = cls.boot["account_id"]
        cls.email = cls.boot["admin_email"]
        cls.password = cls.boot["admin_password"]

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def admin(self):
        browser = Browser(self.inst)
        status, body, _ = browser.sign_in(self.email, self.password)
        self.assertEqual(status, 200, body)
        return browser

    def add_user(self, account, email, level, password=None):
        user = {"email": email, "name": email.split("@")[0].title(), "access_level": level}
        if password:
            user["password"] = password
        status, body, _ = self.inst.request("POST", f"/api/accounts/{account}/users", self.token, {"user": user})
        self.assertEqual(status, 201, body)
        return body

    def test_sign_in_answers_the_session_and_sets_a_strict_cookie(self):
        browser = Browser(self.inst)
        status, body, headers = browser.sign_in(self.email.upper(), self.password)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user"]["email"], self.email)
        self.assertEqual(set(body["user"]), {"id", "email", "name"})
        self.assertRegex(body["csrf_token"], r"^[0-9a-f]{64}$")
        self.assertEqual(body["accounts"][0], {"id": self.account, "name": body["accounts"][0]["name"],
                                               "access_levels": [1000]}, "the bootstrap admin owns the organization")
        cookie = headers["set-cookie"]
        attributes = [part.strip() for part in cookie.split(";")]
        for attribute in ("Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=1209600"):
            self.assertIn(attribute, attributes)
        self.assertNotIn("Secure", attributes, "plain HTTP: a Secure cookie would never come back")
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertNotEqual(browser.session, body["csrf_token"])

        # The same summary as GET /api/accounts gives a token.
        _, accounts, _ = self.inst.request("GET", "/api/accounts", self.token)
        self.assertEqual([a["id"] for a in body["accounts"]], [a["id"] for a in accounts])

        status, again, _ = browser.request("GET", "/api/session")
        self.assertEqual(status, 200)
        self.assertEqual(again, body)

    def test_wrong_password_and_unknown_email_get_the_same_answer(self):
        wrong = Browser(self.inst).sign_in(self.email, "not the password")
        unknown = Browser(self.inst).sign_in("nobody@example.test", self.password)
        for status, body, headers in (wrong, unknown):
            self.assertEqual(status, 401)
            self.assertEqual(body, {"error": "Invalid email or password"})
            self.assertNotIn("set-cookie", headers)
        # Another site's page cannot sign the browser in (login CSRF); our own origin can.
        credentials = {"email": self.email, "password": self.password}
        status, body, headers = self.inst.request("POST", "/api/session", body=credentials,
                                                  headers={"Origin": "http://evil.example"})
        self.assertEqual((status, body), (403, {"error": "Sign-in from another site is not allowed"}))
        self.assertNotIn("set-cookie", headers)
        status, _, _ = self.inst.request("POST", "/api/session", body=credentials,
                                         headers={"Origin": f"http://127.0.0.1:{self.inst.port}"})
        self.assertEqual(status, 200)
        status, body, _ = self.inst.request("POST", "/api/session", raw_body=b"{not json")
        self.assertEqual(status, 400)
        self.assertIn("error", body)
        status, body, _ = self.inst.request("POST", "/api/session", body={"email": self.email})
        self.assertEqual(status, 400)
        self.assertIn("password", body["error"])

    def test_no_session_means_not_signed_in(self):
        status, body, _ = self.inst.request("GET", "/api/session")
        self.assertEqual((status, body), (401, {"error": "Not signed in"}))
        status, _, _ = self.inst.request("GET", "/api/session", headers={"Cookie": f"{COOKIE}={'0' * 64}"})
        self.assertEqual(status, 401)
        status, _, _ = self.inst.request("GET", f"/api/accounts/{self.account}/projects",
                                         headers={"Cookie": f"{COOKIE}={'0' * 64}"})
        self.assertEqual(status, 401)

    def test_the_cookie_reaches_the_account_api_and_writes_need_the_csrf_header(self):
        browser = self.admin()
        status, projects, headers = browser.request("GET", f"/api/accounts/{self.account}/projects")
        self.assertEqual(status, 200)
        self.assertEqual(headers["cache-control"], "no-store", "answers to a session are never cached")
        self.assertTrue(projects)
        # Token-scoped aliases mean the user's first account.
        self.assertEqual(browser.request("GET", "/api/projects")[0], 200)

        path = f"/api/accounts/{self.account}/projects"
        status, body, _ = browser.request("POST", path, {"project": {"name": "No CSRF"}}, csrf=False)
        self.assertEqual((status, body), (403, {"error": "Missing or invalid CSRF token"}))
        status, body, _ = browser.request("POST", path, {"project": {"name": "Wrong CSRF"}}, csrf=False,
                                          headers={"X-CSRF-Token": "0" * 64})
        self.assertEqual((status, body), (403, {"error": "Missing or invalid CSRF token"}))
        # Another session's CSRF token does not fit this one.
        other = self.admin()
        status, _, _ = browser.request("POST", path, {"project": {"name": "Other CSRF"}}, csrf=False,
                                       headers={"X-CSRF-Token": other.csrf})
        self.assertEqual(status, 403)
        status, created, _ = browser.request("POST", path, {"project": {"name": "With CSRF"}})
        self.assertEqual(status, 200, created)
        names = [p["name"] for p in self.inst.request("GET", path, self.token)[1]]
        self.assertIn("With CSRF", names)
        self.assertNotIn("No CSRF", names)
        self.assertNotIn("Wrong CSRF", names)

    def test_bearer_tokens_work_as_before_and_win_over_the_cookie(self):
        path = f"/api/accounts/{self.account}/projects"
        status, _, headers = self.inst.request("POST", path, self.token, {"project": {"name": "By token"}})
        self.assertEqual(status, 200, "tokens never need a CSRF header")
        self.assertNotIn("cache-control", headers)
        browser = self.admin()
        # A token and a cookie: the token authenticates, so no CSRF header is needed.
        status, _, _ = self.inst.request("POST", path, self.token, {"project": {"name": "Token and cookie"}},
                                         headers={"Cookie": f"{COOKIE}={browser.session}"})
        self.assertEqual(status, 200)
        # A bad token is not rescued by a good cookie.
        status, body, _ = self.inst.request("GET", path, "f" * 64, headers={"Cookie": f"{COOKIE}={browser.session}"})
        self.assertEqual((status, body), (401, {"error": "Incorrect API token"}))

    def test_sign_out_ends_the_session(self):
        browser = self.admin()
        status, body, _ = browser.request("DELETE", "/api/session", csrf=False)
        self.assertEqual((status, body), (403, {"error": "Missing or invalid CSRF token"}))
        status, _, headers = browser.request("DELETE", "/api/session")
        self.assertEqual(status, 204)
        self.assertIn(f"{COOKIE}=;", headers["set-cookie"])
        self.assertIn("Max-Age=0", headers["set-cookie"])
        self.assertEqual(browser.request("GET", "/api/session")[0], 401)
        self.assertEqual(browser.request("GET", f"/api/accounts/{self.account}/projects")[0], 401)
        self.assertEqual(browser.request("DELETE", "/api/session")[0], 401)

    def test_viewers_cannot_administer(self):
        added = self.add_user(self.account, "viewer@example.test", "viewer")
        self.assertEqual(added["access_level"], "viewer")
        self.assertEqual(added["email"], "viewer@example.test")
        self.assertRegex(added["password"], r"^\S{16,}$", "a generated password is shown once")
        viewer = Browser(self.inst)
        status, session, _ = viewer.sign_in("viewer@example.test", added["password"])
        self.assertEqual(status, 200, session)
        self.assertEqual(session["accounts"][0]["access_levels"], [10])
        self.assertEqual(viewer.request("GET", f"/api/accounts/{self.account}/projects")[0], 200)
        for method, path, body in (
                ("POST", f"/api/accounts/{self.account}/projects", {"project": {"name": "Viewer's"}}),
                ("POST", f"/api/accounts/{self.account}/users", {"user": {"email": "x@example.test"}}),
                ("PATCH", f"/api/accounts/{self.account}", {"account": {"name": "Viewer's"}}),
                ("POST", f"/api/accounts/{self.account}/api_tokens",
                 {"name": "t", "resources": [{"resource_type": "account", "resource_id": self.account,
                                              "access_level": 100}]})):
            status, answer, _ = viewer.request(method, path, body)
            self.assertEqual(status, 403, (path, answer))

    def test_a_user_of_one_account_cannot_reach_another(self):
        org = self.boot["organization_id"]
        status, other, _ = self.inst.request("POST", f"/api/organizations/{org}/sub_accounts", self.token,
                                             {"account": {"name": "Tenant B"}})
        self.assertEqual(status, 200, other)
        added = self.add_user(other["id"], "tenant-b@example.test", "admin", password="tenant b password")
        self.assertNotIn("password", added, "a given password is never echoed")
        browser = Browser(self.inst)
        status, session, _ = browser.sign_in("tenant-b@example.test", "tenant b password")
        self.assertEqual(status, 200)
        self.assertEqual([a["id"] for a in session["accounts"]], [other["id"]])
        self.assertEqual(browser.request("GET", f"/api/accounts/{other['id']}/projects")[0], 200)
        self.assertEqual(browser.request("GET", "/api/projects")[0], 200)
        for path in (f"/api/accounts/{self.account}/projects", f"/api/accounts/{self.account}/inboxes/"
                     f"{self.boot['inbox_id']}/messages", f"/api/accounts/{self.account}/api_tokens",
                     f"/api/organizations/{org}/sub_accounts"):
            status, body, _ = browser.request("GET", path)
            self.assertIn(status, (403, 404), (path, body))
        # B's own inbox id under B's account does not reach A's inbox either.
        status, _, _ = browser.request("GET", f"/api/accounts/{other['id']}/inboxes/{self.boot['inbox_id']}/messages")
        self.assertEqual(status, 404)
        status, _, _ = browser.request("PATCH", f"/api/accounts/{self.account}", {"account": {"name": "Taken"}})
        self.assertEqual(status, 403)

    def test_users_api_validates(self):
        status, body, _ = self.inst.request("POST", f"/api/accounts/{self.account}/users", self.token,
                                            {"user": {"email": "bad", "password": "short", "access_level": "owner"}})
        self.assertEqual(status, 422)
        self.assertEqual(body["errors"]["email"], ["is invalid"])
        self.assertEqual(body["errors"]["password"], ["is too short (minimum is 8 characters)"])
        self.assertEqual(body["errors"]["access_level"], ["must be admin or viewer"])
        status, _, _ = self.inst.request("POST", f"/api/accounts/{self.account}/users", self.token, {"email": "x"})
        self.assertEqual(status, 400)
        # The session works for admins too (with CSRF).
        browser = self.admin()
        status, body, _ = browser.request("POST", f"/api/accounts/{self.account}/users",
                                          {"user": {"email": "by-ui@example.test", "access_level": "admin"}})
        self.assertEqual(status, 201, body)
        self.assertEqual(Browser(self.inst).sign_in("by-ui@example.test", body["password"])[0], 200)

    def test_accounts_can_be_renamed(self):
        browser = self.admin()
        status, body, _ = browser.request("PATCH", f"/api/accounts/{self.account}", {"account": {"name": "Acme Mail"}})
        self.assertEqual((status, body), (200, {"id": self.account, "name": "Acme Mail"}))
        _, accounts, _ = self.inst.request("GET", "/api/accounts", self.token)
        self.assertEqual(accounts[0]["name"], "Acme Mail")
        status, body, _ = self.inst.request("PATCH", f"/api/accounts/{self.account}", self.token,
                                            {"account": {"name": " "}})
        self.assertEqual(status, 422)
        self.assertEqual(body["errors"]["name"], ["can't be blank"])

    def test_create_user_on_the_command_line(self):
        args = [BIN, "admin", "create-user", "--data-dir", self.inst.data_dir, *self.inst.db_args,
                "--email", "cli@example.test", "--name", "Cli User", "--level", "viewer", "--json"]
        out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)
        created = json.loads(out.stdout)
        self.assertEqual(created["email"], "cli@example.test")
        self.assertEqual(created["account_id"], self.account)
        self.assertEqual(created["access_level"], "viewer")
        self.assertTrue(created["created"])
        status, session, _ = Browser(self.inst).sign_in("cli@example.test", created["password"])
        self.assertEqual(status, 200)
        self.assertEqual(session["user"]["name"], "Cli User")
        self.assertEqual(session["accounts"][0]["access_levels"], [10])
        # Again: only the access changes, no new password.
        out = subprocess.run([*args[:-3], "--level", "admin"], check=True, capture_output=True, text=True, timeout=60)
        self.assertIn("Updated user cli@example.test", out.stdout)
        self.assertNotIn("Password", out.stdout)
        status, session, _ = Browser(self.inst).sign_in("cli@example.test", created["password"])
        self.assertEqual(session["accounts"][0]["access_levels"], [100])
        # A given password is checked.
        bad = subprocess.run([BIN, "admin", "create-user", "--data-dir", self.inst.data_dir, *self.inst.db_args,
                              "--email", "short@example.test", "--password", "short"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("password is too short", bad.stderr)

    def test_sandbox_bodies_and_events_work_with_the_cookie(self):
        inbox = self.boot["inbox_id"]
        status, sent, _ = self.inst.request("POST", f"/api/send/{inbox}", self.token, {
            "from": {"email": "app@example.com"}, "to": [{"email": "user@example.com"}], "subject": "Framed",
            "html": "<p>Hello</p>"})
        self.assertEqual(status, 200, sent)
        message = sent["message_ids"][0]
        browser = self.admin()
        status, body, headers = browser.request(
            "GET", f"/api/accounts/{self.account}/inboxes/{inbox}/messages/{message}/body.html")
        self.assertEqual(status, 200)
        self.assertIn(b"Hello", body)
        policy = headers["content-security-policy"]
        self.assertIn("sandbox", policy)
        self.assertIn("frame-ancestors 'self'", policy, "framable by the UI, nobody else")
        # The event stream accepts the UI's own origin with the cookie, not a foreign one.
        for origin, expected in ((f"http://127.0.0.1:{self.inst.port}", 200), ("http://evil.example", 403)):
            conn = http.client.HTTPConnection("127.0.0.1", self.inst.port, timeout=10)
            conn.request("GET", f"/api/accounts/{self.account}/inboxes/{inbox}/events",
                         headers={"Cookie": f"{COOKIE}={browser.session}", "Origin": origin})
            self.assertEqual(conn.getresponse().status, expected, origin)
            conn.close()

    def test_the_ui_is_served_with_its_security_headers(self):
        status, html, headers = self.inst.request("GET", "/", headers={"Content-Type": ""})
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(b"<html", html.lower())
        self.assertEqual(headers["content-security-policy"],
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'")
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["referrer-policy"], "same-origin")
        self.assertEqual(headers["x-frame-options"], "DENY")
        self.assertEqual(headers["cache-control"], "no-cache")

        scripts = re.findall(rb'src="(/assets/[^"]+\.js)"', html)
        styles = re.findall(rb'href="(/assets/[^"]+\.css)"', html)
        self.assertTrue(scripts, html)
        for path, content_type in [(p, "text/javascript") for p in scripts] + [(p, "text/css") for p in styles]:
            status, body, headers = self.inst.request("GET", path.decode(), headers={"Content-Type": ""})
            self.assertEqual(status, 200, path)
            self.assertTrue(headers["content-type"].startswith(content_type), headers)
            self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable")
            self.assertTrue(body)
            status, zipped, headers = self.inst.request("GET", path.decode(), headers={"Accept-Encoding": "gzip"})
            if headers.get("content-encoding") == "gzip":
                self.assertEqual(gzip.decompress(zipped), body)
        self.assertEqual(self.inst.request("GET", "/assets/missing-0000.js")[0], 404)
        self.assertEqual(self.inst.request("GET", "/assets/../index.html")[0], 404)


class FirstStartTest(unittest.TestCase):
    def test_first_start_names_the_ui_and_https_public_urls_get_secure_cookies(self):
        inst = Installation()
        self.addCleanup(inst.close)
        inst.start("--public-url", "https://mail.example.test")
        output = inst.stop()
        match = re.search(r"Admin user\s+(\S+) / (\S+)", output)
        self.assertIsNotNone(match, output)
        email, password = match.groups()
        self.assertRegex(output,
                         r"Web UI\s+https://mail\.example\.test/\s+\(sign in as the admin user " + re.escape(email))
        inst.start("--public-url", "https://mail.example.test")
        status, _, headers = inst.request("POST", "/api/session", body={"email": email, "password": password})
        self.assertEqual(status, 200)
        self.assertIn("Secure", [part.strip() for part in headers["set-cookie"].split(";")])

        # The UI reached by another name than the public URL may still open event streams: the Origin of the host
        # the request was sent to is accepted too, a foreign one is not.
        session = re.search(COOKIE + r"=([0-9a-f]{64});", headers["set-cookie"]).group(1)
        inbox = re.search(r"inbox (\d+)\)", output).group(1)
        for origin, expected in ((f"http://127.0.0.1:{inst.port}", 200), ("https://mail.example.test", 200),
                                 ("http://evil.example", 403)):
            conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=10)
            conn.request("GET", f"/api/inboxes/{inbox}/events",
                         headers={"Cookie": f"{COOKIE}={session}", "Origin": origin})
            self.assertEqual(conn.getresponse().status, expected, origin)
            conn.close()
        inst.stop()

        # Over the HTTPS listener the cookie is Secure whatever the public URL says.
        https_port = free_port()
        inst.start("--https", f"127.0.0.1:{https_port}")
        conn = http.client.HTTPSConnection("127.0.0.1", https_port, timeout=10,
                                           context=ssl._create_unverified_context())
        conn.request("POST", "/api/session", body=json.dumps({"email": email, "password": password}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        self.assertIn("Secure", [part.strip() for part in response.getheader("set-cookie").split(";")])
        conn.close()
        status, _, headers = inst.request("POST", "/api/session", body={"email": email, "password": password})
        self.assertNotIn("Secure", [part.strip() for part in headers["set-cookie"].split(";")], "plain HTTP")


class ThrottleTest(unittest.TestCase):
    def test_ten_failures_answer_429(self):
        inst = Installation()
        self.addCleanup(inst.close)
        boot = inst.bootstrap()
        inst.start()
        for _ in range(10):
            status, _, _ = inst.request("POST", "/api/session", body={"email": boot["admin_email"], "password": "x"})
            self.assertEqual(status, 401)
        status, body, _ = inst.request("POST", "/api/session",
                                       body={"email": boot["admin_email"], "password": boot["admin_password"]})
        self.assertEqual((status, body), (429, {"error": "Too many sign-in attempts. Try again in 15 minutes."}))


if __name__ == "__main__":
    unittest.main()
