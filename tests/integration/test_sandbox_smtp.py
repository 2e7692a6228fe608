"""The Email Sandbox as a user runs it: real SMTP clients (smtplib, swaks, curl, nodemailer) deliver into
sandboxes over plain SMTP, STARTTLS and implicit TLS, and the API shows exactly what was captured. Also the bounce
emulator, each sandbox's own email address, the wait endpoint, the search syntax, hostile input and tenant
isolation. Runs against SQLite or PostgreSQL (POSTROOM_TEST_DATABASE), with the real binary named by
POSTROOM_BIN. The limits (size, rate, monthly, FIFO, default sandbox) and kill -9 are in
test_sandbox_limits.py."""

import base64
import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))

from sandbox_harness import (EMAIL_DOMAIN, SDK_DIR, SHARED, Sandbox, deliver, make_message, normalize_crlf,
                             queued_id)


def read_reply(sock):
    """One SMTP reply (all its lines) from a raw socket."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode(errors="replace")
        data += chunk
        lines = data.split(b"\r\n")
        complete = lines[:-1]
        if complete and len(complete[-1]) >= 4 and complete[-1][3:4] == b" ":
            return data.decode(errors="replace")


class SandboxSmtpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Many API calls in a few seconds from one token: the API rate limit is not what these tests are about.
        cls.sb = Sandbox(["--sandbox-rate", "0", "--sandbox-wait-max", "10", "--rate-limit-requests", "100000"])

    @classmethod
    def tearDownClass(cls):
        cls.sb.close()

    def new_inbox(self, name=None):
        return self.sb.create_inbox(name or "t-" + uuid.uuid4().hex[:8])

    def only_message(self, inbox_id):
        messages = self.sb.messages(inbox_id)
        self.assertEqual(len(messages), 1, [m["subject"] for m in messages])
        return messages[0]

    # ---- smtplib: every way in

    def test_smtplib_plain_connection_with_auth_plain_and_login(self):
        inbox = self.new_inbox()
        with self.sb.smtp() as client:
            auth = client.esmtp_features.get("auth", "").upper().split()
            for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
                self.assertIn(mechanism, auth)
            self.assertIn("starttls", client.esmtp_features)
            client.user, client.password = inbox["username"], inbox["password"]
            self.assertEqual(client.auth("PLAIN", client.auth_plain)[0], 235)
            data = make_message("via AUTH PLAIN", text="plain body line\n")
            first = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], data))
        with self.sb.smtp() as client:
            client.user, client.password = inbox["username"], inbox["password"]
            self.assertEqual(client.auth("LOGIN", client.auth_login, initial_response_ok=False)[0], 235)
            second = queued_id(deliver(client, "sam@example.com", ["rita@example.com"],
                                       make_message("via AUTH LOGIN")))
        messages = self.sb.messages(inbox["id"])
        self.assertEqual([(m["id"], m["subject"]) for m in messages],
                         [(second, "via AUTH LOGIN"), (first, "via AUTH PLAIN")], "newest first")
        m = messages[1]
        self.assertEqual((m["from_email"], m["from_name"], m["to_email"], m["to_name"]),
                         ("sam@example.com", "Sam Sender", "rita@example.com", "Rita Receiver"))
        self.assertFalse(m["is_read"])
        self.assertEqual(m["email_size"], len(data))
        self.assertEqual(m["smtp_information"], {"ok": True, "data": {"mail_from_addr": "sam@example.com",
                                                                      "client_ip": "127.0.0.1"}})
        status, raw, headers = self.sb.part(inbox["id"], first, "body.raw")
        self.assertEqual(status, 200)
        self.assertEqual(raw, data, "the raw message is kept byte for byte")
        status, text, _ = self.sb.part(inbox["id"], first, "body.txt")
        self.assertEqual((status, text), (200, b"plain body line\r\n"))
        status, body, _ = self.sb.part(inbox["id"], first, "body.html")
        self.assertEqual(status, 409, "no HTML part")
        counts = self.sb.inbox(inbox["id"])
        self.assertEqual((counts["emails_count"], counts["emails_unread_count"], counts["sent_messages_count"]),
                         (2, 2, 2))
        deleted = self.sb.ok("DELETE", f"{self.sb.inbox_path(inbox['id'])}/messages/{first}")
        self.assertEqual(deleted["id"], first)
        self.assertEqual(self.sb.api("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{first}")[0], 404)
        self.assertEqual([m["id"] for m in self.sb.messages(inbox["id"])], [second])
        self.assertEqual(self.sb.inbox(inbox["id"])["emails_count"], 1)

    def test_smtplib_starttls_then_auth(self):
        inbox = self.new_inbox()
        with self.sb.smtp(tls="starttls") as client:
            self.assertIsInstance(client.sock, ssl.SSLSocket)
            self.assertNotIn("starttls", client.esmtp_features, "not offered twice")
            client.login(inbox["username"], inbox["password"])
            mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"],
                                    make_message("over STARTTLS", html="<p>Hi <b>there</b></p>")))
        m = self.only_message(inbox["id"])
        self.assertEqual((m["id"], m["subject"]), (mid, "over STARTTLS"))
        status, html, headers = self.sb.part(inbox["id"], mid, "body.html")
        self.assertEqual(status, 200)
        self.assertIn(b"<b>there</b>", html)
        self.assertTrue(headers["content-type"].startswith("text/html"))

    def test_smtplib_implicit_tls(self):
        inbox = self.new_inbox()
        with self.sb.smtp(inbox, tls="implicit") as client:
            self.assertIsInstance(client.sock, ssl.SSLSocket)
            mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("over SMTPS")))
        self.assertEqual(self.only_message(inbox["id"])["id"], mid)

    def test_smtplib_cram_md5(self):
        inbox = self.new_inbox()
        with self.sb.smtp() as client:
            client.user, client.password = inbox["username"], inbox["password"]
            self.assertEqual(client.auth("CRAM-MD5", client.auth_cram_md5, initial_response_ok=False)[0], 235)
            client.sendmail("sam@example.com", ["rita@example.com"], make_message("via CRAM-MD5"))
        with self.sb.smtp() as client:
            client.user, client.password = inbox["username"], "wrong"
            with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                client.auth("CRAM-MD5", client.auth_cram_md5, initial_response_ok=False)
            self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error),
                             (535, b"5.7.0 Invalid login or password"))
        self.assertEqual(self.sb.subjects(inbox["id"]), ["via CRAM-MD5"])

    def test_wrong_credentials_are_535_and_nothing_is_captured(self):
        inbox = self.new_inbox()
        for username, password in ((inbox["username"], inbox["password"] + "x"), ("nobody", inbox["password"]),
                                   (inbox["username"], "")):
            for mechanism in ("PLAIN", "LOGIN"):
                with self.sb.smtp() as client:
                    client.user, client.password = username, password
                    method = client.auth_plain if mechanism == "PLAIN" else client.auth_login
                    with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                        client.auth(mechanism, method, initial_response_ok=mechanism == "PLAIN")
                    self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error),
                                     (535, b"5.7.0 Invalid login or password"), (username, mechanism))
                    # Still unauthenticated: a normal recipient needs a login.
                    self.assertEqual(client.mail("sam@example.com")[0], 250)
                    self.assertEqual(client.rcpt("rita@example.com"), (530, b"5.7.1 Authentication required"))
        self.assertEqual(self.sb.messages(inbox["id"]), [])

    def test_unauthenticated_mail_to_a_normal_address_is_530_at_rcpt(self):
        inbox = self.new_inbox()
        with self.sb.smtp() as client:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as caught:
                client.sendmail("sam@example.com", ["rita@example.com", "tom@example.org"],
                                make_message("no login"))
            self.assertEqual(caught.exception.recipients, {
                "rita@example.com": (530, b"5.7.1 Authentication required"),
                "tom@example.org": (530, b"5.7.1 Authentication required")})
        self.assertEqual(self.sb.messages(inbox["id"]), [])
        self.assertEqual(self.sb.messages(self.sb.boot["inbox_id"], "subject:login"), [])

    def test_each_message_lands_in_its_own_sandbox_and_never_crosses(self):
        a = self.new_inbox("routing A")
        project = self.sb.ok("POST", f"/api/accounts/{self.sb.account}/projects", {"project": {"name": "Other"}})
        b = self.sb.create_inbox("routing B", project_id=project["id"])
        self.assertNotEqual(a["username"], b["username"])
        sent = {a["id"]: [], b["id"]: []}
        lock = threading.Lock()
        errors = []

        def send(inbox, n):
            try:
                with self.sb.smtp(inbox) as client:
                    for i in range(n):
                        subject = f"for {inbox['name']} #{i}"
                        mid = queued_id(deliver(client, "sam@example.com", ["shared@example.com"],
                                                make_message(subject, to="shared@example.com")))
                        with lock:
                            sent[inbox["id"]].append((mid, subject))
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=send, args=(inbox, n)) for inbox, n in ((a, 4), (b, 3), (a, 2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for inbox in (a, b):
            stored = {(m["id"], m["subject"]) for m in self.sb.messages(inbox["id"])}
            self.assertEqual(stored, set(sent[inbox["id"]]), inbox["name"])
        for mid, _ in sent[a["id"]]:
            self.assertEqual(self.sb.api("GET", f"{self.sb.inbox_path(b['id'])}/messages/{mid}")[0], 404)
            self.assertEqual(self.sb.api("GET", f"{self.sb.inbox_path(b['id'])}/messages/{mid}/body.raw")[0], 404)
        self.assertEqual(self.sb.inbox(a["id"])["emails_count"], 6)
        self.assertEqual(self.sb.inbox(b["id"])["emails_count"], 3)

    def test_reset_credentials_and_a_deleted_sandbox(self):
        inbox = self.new_inbox()
        alias = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/toggle_email_username")["email_username"]
        reset = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/reset_credentials")
        self.assertNotEqual((reset["username"], reset["password"]), (inbox["username"], inbox["password"]))
        with self.sb.smtp() as client:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                client.login(inbox["username"], inbox["password"])
            self.assertEqual(caught.exception.smtp_error, b"5.7.0 Invalid login or password")
        with self.sb.smtp(reset) as client:
            queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("new credentials")))
            # The sandbox is deleted while this session is logged in to it: its next message is refused for good.
            self.assertEqual(client.mail("sam@example.com")[0], 250)
            self.assertEqual(client.rcpt("rita@example.com")[0], 250)
            self.assertEqual(self.sb.api("DELETE", self.sb.inbox_path(inbox["id"]))[0], 200)
            self.assertEqual(client.data(make_message("after delete")),
                             (554, b"5.5.1 Error: no sandbox for this email"))
        with self.sb.smtp() as client:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                client.login(reset["username"], reset["password"])
            self.assertEqual(caught.exception.smtp_error, b"5.7.0 Invalid login or password")
            self.assertEqual(client.mail("sam@example.com")[0], 250)
            self.assertEqual(client.rcpt(f"{alias}@{EMAIL_DOMAIN}"), (554, b"5.5.1 Error: no sandbox for this email"))
        self.assertEqual(self.sb.api("GET", self.sb.inbox_path(inbox["id"]) + "/messages")[0], 404)

    # ---- other real clients

    def swaks(self, *args):
        return subprocess.run(["swaks", "--server", "127.0.0.1", "--helo", "client.test", *args],
                              capture_output=True, text=True, timeout=30)

    def test_swaks(self):
        inbox = self.new_inbox()
        creds = ["--auth-user", inbox["username"], "--auth-password", inbox["password"]]
        common = ["--from", "sam@example.com", "--to", "rita@example.com"]
        plain = self.swaks("--port", str(self.sb.smtp_port), "--auth", "PLAIN", *creds, *common,
                           "--header", "Subject: swaks plain", "--body", "swaks body")
        self.assertEqual(plain.returncode, 0, plain.stdout + plain.stderr)
        self.assertRegex(plain.stdout, r"<-  250 2\.0\.0 Ok: queued as \d+")
        cram = self.swaks("--port", str(self.sb.smtp_port), "--auth", "CRAM-MD5", *creds, *common,
                          "--header", "Subject: swaks cram")
        self.assertEqual(cram.returncode, 0, cram.stdout + cram.stderr)
        starttls = self.swaks("--port", str(self.sb.smtp_port), "--tls", "--auth", "LOGIN", *creds, *common,
                              "--header", "Subject: swaks starttls")
        self.assertEqual(starttls.returncode, 0, starttls.stdout + starttls.stderr)
        self.assertIn("<-  220 ", starttls.stdout.split("STARTTLS", 1)[1])
        self.assertRegex(starttls.stdout, r"<~  250 2\.0\.0 Ok: queued as \d+", "the transaction ran inside TLS")
        implicit = self.swaks("--port", str(self.sb.smtps_port), "--tls-on-connect", "--auth", "PLAIN", *creds,
                              *common, "--header", "Subject: swaks smtps")
        self.assertEqual(implicit.returncode, 0, implicit.stdout + implicit.stderr)
        wrong = self.swaks("--port", str(self.sb.smtp_port), "--auth", "PLAIN", "--auth-user", inbox["username"],
                           "--auth-password", "nope", *common, "--header", "Subject: swaks wrong")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("<** 535 5.7.0 Invalid login or password", wrong.stdout)
        no_auth = self.swaks("--port", str(self.sb.smtp_port), *common, "--header", "Subject: swaks no auth")
        self.assertNotEqual(no_auth.returncode, 0)
        self.assertIn("<** 530 5.7.1 Authentication required", no_auth.stdout)
        self.assertEqual(sorted(self.sb.subjects(inbox["id"])),
                         ["swaks cram", "swaks plain", "swaks smtps", "swaks starttls"])
        m = self.sb.messages(inbox["id"], "subject:plain")[0]
        self.assertEqual(self.sb.part(inbox["id"], m["id"], "body.txt")[1].strip(), b"swaks body")

    def curl(self, url, inbox, recipients, data, *extra):
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(data)
            f.flush()
            args = ["curl", "-sS", "--max-time", "20", url, "--mail-from", "sam@example.com"]
            for r in recipients:
                args += ["--mail-rcpt", r]
            if inbox is not None:
                args += ["--user", f"{inbox['username']}:{inbox['password']}"]
            return subprocess.run([*args, "--upload-file", f.name, *extra], capture_output=True, text=True,
                                  timeout=30)

    def test_curl_smtp(self):
        inbox = self.new_inbox()
        plain = self.curl(f"smtp://127.0.0.1:{self.sb.smtp_port}", inbox, ["rita@example.com", "hidden@example.com"],
                          make_message("curl plain", to="rita@example.com"))
        self.assertEqual(plain.returncode, 0, plain.stderr)
        starttls = self.curl(f"smtp://127.0.0.1:{self.sb.smtp_port}", inbox, ["rita@example.com"],
                             make_message("curl starttls"), "--ssl-reqd", "--cacert", self.sb.cert)
        self.assertEqual(starttls.returncode, 0, starttls.stderr)
        implicit = self.curl(f"smtps://127.0.0.1:{self.sb.smtps_port}", inbox, ["rita@example.com"],
                             make_message("curl smtps"), "--cacert", self.sb.cert)
        self.assertEqual(implicit.returncode, 0, implicit.stderr)
        wrong = self.curl(f"smtp://127.0.0.1:{self.sb.smtp_port}", dict(inbox, password="bad"), ["rita@example.com"],
                          make_message("curl wrong"), "-v")
        self.assertEqual(wrong.returncode, 67, wrong.stderr)  # CURLE_LOGIN_DENIED
        self.assertIn("< 535 5.7.0 Invalid login or password", wrong.stderr)
        self.assertEqual(sorted(self.sb.subjects(inbox["id"])), ["curl plain", "curl smtps", "curl starttls"])
        m = self.sb.messages(inbox["id"], "subject:plain")[0]
        headers = self.sb.ok("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{m['id']}/mail_headers")["headers"]
        self.assertEqual(headers["bcc"], "hidden@example.com")

    def nodemailer(self, transport, message):
        out = subprocess.run(["node", os.path.join(SDK_DIR, "nodemailer_send.mjs"),
                              json.dumps({"transport": transport, "message": message})],
                             capture_output=True, text=True, timeout=30, cwd=SDK_DIR)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_nodemailer(self):
        inbox = self.new_inbox()
        auth = {"user": inbox["username"], "pass": inbox["password"]}
        message = {"from": '"Node App" <app@example.com>', "to": "Rita <rita@example.com>",
                   "cc": "carl@example.com", "bcc": "boss@example.com", "text": "from nodemailer",
                   "html": "<p>from <i>nodemailer</i></p>",
                   "attachments": [{"filename": "report.csv", "content": "a,b\n1,2\n", "contentType": "text/csv"}]}
        cases = [
            ("nodemailer plain", {"host": "127.0.0.1", "port": self.sb.smtp_port, "secure": False,
                                  "ignoreTLS": True, "auth": auth}),
            ("nodemailer starttls", {"host": "127.0.0.1", "port": self.sb.smtp_port, "secure": False,
                                     "requireTLS": True, "auth": auth, "caFile": self.sb.cert}),
            ("nodemailer smtps", {"host": "127.0.0.1", "port": self.sb.smtps_port, "secure": True, "auth": auth,
                                  "caFile": self.sb.cert}),
            ("nodemailer login", {"host": "127.0.0.1", "port": self.sb.smtp_port, "ignoreTLS": True,
                                  "auth": dict(auth, method="LOGIN")}),
        ]
        for subject, transport in cases:
            result = self.nodemailer(transport, dict(message, subject=subject))
            self.assertTrue(result["ok"], result)
            self.assertEqual(result["accepted"], ["rita@example.com", "carl@example.com", "boss@example.com"])
            self.assertRegex(result["response"], r"^250 2\.0\.0 Ok: queued as \d+$")
        wrong = self.nodemailer({"host": "127.0.0.1", "port": self.sb.smtp_port, "ignoreTLS": True,
                                 "auth": {"user": inbox["username"], "pass": "wrong"}}, dict(message, subject="bad"))
        self.assertEqual((wrong["ok"], wrong["code"], wrong["responseCode"], wrong["response"]),
                         (False, "EAUTH", 535, "535 5.7.0 Invalid login or password"))
        messages = self.sb.messages(inbox["id"])
        self.assertEqual(sorted(m["subject"] for m in messages), sorted(subject for subject, _ in cases))
        m = messages[0]
        self.assertEqual((m["from_email"], m["from_name"], m["to_email"], m["to_name"]),
                         ("app@example.com", "Node App", "rita@example.com", "Rita"))
        base = f"{self.sb.inbox_path(inbox['id'])}/messages/{m['id']}"
        headers = self.sb.ok("GET", base + "/mail_headers")["headers"]
        self.assertEqual(headers["bcc"], "boss@example.com")
        self.assertEqual(headers["cc"], "carl@example.com")
        attachments = self.sb.ok("GET", base + "/attachments")
        self.assertEqual([(a["filename"], a["content_type"], a["attachment_size"]) for a in attachments],
                         [("report.csv", "text/csv", 8)])
        status, content, _ = self.sb.part(inbox["id"], m["id"], f"attachments/{attachments[0]['id']}/download")
        self.assertEqual((status, content), (200, b"a,b\n1,2\n"))
        self.assertEqual(self.sb.part(inbox["id"], m["id"], "body.txt")[1], b"from nodemailer")

    def test_utf8_dot_lines_and_bodies_as_the_api_shows_them(self):
        inbox = self.new_inbox()
        utf8 = ("From: J\u00fcrgen <j\u00fcrgen@ex\u00e4mple.com>\r\nTo: Zo\u00eb <zo\u00eb@example.com>\r\n"
                "Subject: Gr\u00fc\u00dfe aus K\u00f6ln\r\n\r\n\u00c4pfel und Birnen\r\n.leading dot\r\n"
                "..two dots\r\n.\r\n").encode()
        encoded = b"Subject: =?UTF-8?B?w4RwZmVs?= encoded\r\nTo: =?utf-8?q?Zo=C3=AB?= <z@example.com>\r\n\r\nhi\r\n"
        html = make_message("xss", html='<p onclick="steal()">hi<script>alert(1)</script>'
                                         '<img src="cid:x" onerror="alert(2)"></p>')
        with self.sb.smtp(inbox) as client:
            self.assertIn("smtputf8", client.esmtp_features)
            self.assertIn("8bitmime", client.esmtp_features)
            utf8_id = queued_id(deliver(client, "j\u00fcrgen@ex\u00e4mple.com", ["zo\u00eb@example.com"], utf8,
                                        mail_options=["SMTPUTF8", "BODY=8BITMIME"]))
            encoded_id = queued_id(deliver(client, "sam@example.com", ["z@example.com"], encoded))
            html_id = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], html))
        listed = {m["id"]: m for m in self.sb.messages(inbox["id"])}
        m = listed[utf8_id]
        self.assertEqual((m["subject"], m["from_email"], m["from_name"], m["to_email"], m["to_name"]),
                         ("Gr\u00fc\u00dfe aus K\u00f6ln", "j\u00fcrgen@ex\u00e4mple.com", "J\u00fcrgen",
                          "zo\u00eb@example.com", "Zo\u00eb"))
        self.assertEqual(self.sb.part(inbox["id"], utf8_id, "body.raw")[1], utf8, "dot-unstuffed, byte for byte")
        self.assertEqual(self.sb.part(inbox["id"], utf8_id, "body.txt")[1],
                         "\u00c4pfel und Birnen\r\n.leading dot\r\n..two dots\r\n.\r\n".encode())
        self.assertEqual((listed[encoded_id]["subject"], listed[encoded_id]["to_name"]),
                         ("\u00c4pfel encoded", "Zo\u00eb"))
        self.assertEqual([m["id"] for m in self.sb.messages(inbox["id"], "K\u00d6LN")], [utf8_id])
        self.assertEqual(sorted(m["id"] for m in self.sb.messages(inbox["id"], "\u00e4pfel")), [utf8_id, encoded_id])
        status, sanitized, headers = self.sb.part(inbox["id"], html_id, "body.html")
        self.assertEqual(status, 200)
        self.assertIn(b">hi<", sanitized)
        for hostile in (b"<script", b"alert(1)", b"onclick", b"onerror"):
            self.assertNotIn(hostile, sanitized)
        self.assertIn("sandbox", headers["content-security-policy"])
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        status, source, _ = self.sb.part(inbox["id"], html_id, "body.htmlsource")
        self.assertEqual(status, 200)
        self.assertIn(b"<script>alert(1)</script>", source, "the source is shown as sent")
        status, eml, headers = self.sb.part(inbox["id"], html_id, "body.eml")
        self.assertEqual((status, headers["content-type"]), (200, "message/rfc822"))
        self.assertEqual(eml, html)

    def test_one_message_to_several_sandbox_addresses_lands_once_in_each(self):
        a, b = self.new_inbox("multi A"), self.new_inbox("multi B")
        alias_a = self.sb.ok("PATCH", self.sb.inbox_path(a["id"]) + "/toggle_email_username")["email_username"]
        alias_b = self.sb.ok("PATCH", self.sb.inbox_path(b["id"]) + "/toggle_email_username")["email_username"]
        with self.sb.smtp() as client:
            code, text = deliver(client, "sam@example.com",
                                 [f"{alias_a}@{EMAIL_DOMAIN}", f"{alias_b}@{EMAIL_DOMAIN}",
                                  f"{alias_a}+again@{EMAIL_DOMAIN}"],
                                 make_message("to both", to=f"{alias_a}@{EMAIL_DOMAIN}"))
        self.assertEqual(code, 250, text)
        self.assertRegex(text, rb"^2\.0\.0 Ok: queued as \d+ \d+$")
        self.assertEqual(self.sb.subjects(a["id"]), ["to both"])
        self.assertEqual(self.sb.subjects(b["id"]), ["to both"])

    # ---- envelope

    def test_envelope_recipients_missing_from_to_and_cc_are_the_bcc(self):
        inbox = self.new_inbox()
        data = make_message("bcc check", to="Rita <rita@example.com>", cc="Carl <CARL@example.com>")
        with self.sb.smtp(inbox) as client:
            mid = queued_id(deliver(client, "sam@example.com",
                                    ["rita@example.com", "carl@example.com", "secret@example.com",
                                     "Other.Secret@example.net"], data))
            visible = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("no bcc")))
        headers = self.sb.ok("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{mid}/mail_headers")["headers"]
        self.assertEqual(headers["bcc"], "secret@example.com, Other.Secret@example.net")
        self.assertEqual(headers["to"], "Rita <rita@example.com>")
        self.assertEqual(headers["subject"], "bcc check")
        status, raw, _ = self.sb.part(inbox["id"], mid, "body.raw")
        self.assertNotIn(b"secret@example.com", raw, "the Bcc is not written into the message")
        headers = self.sb.ok("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{visible}/mail_headers")["headers"]
        self.assertEqual(headers.get("bcc", ""), "")
        self.assertEqual([m["subject"] for m in self.sb.messages(inbox["id"], "secret@example.com")], ["bcc check"],
                         "the Bcc is searchable")

    # ---- bounce emulator

    def test_bounce_emulator(self):
        inbox = self.new_inbox()
        cases = [
            ("bounce+550+no+such+user+here@any.domain", (550, b"no such user here")),
            ("bounce+452+4.2.2+mailbox+full@x.test", (452, b"4.2.2 mailbox full")),
            ("bounce+451+server+unavailable@" + EMAIL_DOMAIN, (451, b"server unavailable")),
            ("bounce+454+authentication+required@anydomain.com", (454, b"authentication required")),
            ("bounce+550+%4Eo+such+user%21@x.test", (550, b"No such user!")),
            ("bounce+553+5.1.3+bad%20address@x.test", (553, b"5.1.3 bad address")),
            # An enhanced code of the wrong class is text, not a code.
            ("bounce+550+4.2.2+odd@x.test", (550, b"4.2.2 odd")),
        ]
        for authenticated in (True, False):
            with self.sb.smtp(inbox if authenticated else None) as client:
                self.assertEqual(client.mail("sam@example.com")[0], 250)
                for rcpt, expected in cases:
                    self.assertEqual(client.rcpt(rcpt), expected, (rcpt, authenticated))
                if authenticated:
                    # The bounced recipients are not part of the transaction; a normal one still is.
                    self.assertEqual(client.rcpt("rita@example.com")[0], 250)
                    mid = queued_id(client.data(make_message("after bounces")))
                else:
                    with self.assertRaises(smtplib.SMTPDataError) as caught:
                        client.data(make_message("all bounced"))
                    self.assertEqual(caught.exception.smtp_code // 100, 5)
                client.rset()
            # Anything else is not a bounce: with a login it is captured.
            if authenticated:
                with self.sb.smtp(inbox) as client:
                    self.assertEqual(client.mail("sam@example.com")[0], 250)
                    self.assertEqual(client.rcpt("bounce+250+fine@x.test")[0], 250)
                    self.assertEqual(client.rcpt("bounce+abc+x@x.test")[0], 250)
                    queued_id(client.data(make_message("not bounces")))
        self.assertEqual(sorted(self.sb.subjects(inbox["id"])), ["after bounces", "not bounces"])
        headers = self.sb.ok("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{mid}/mail_headers")["headers"]
        self.assertEqual(headers.get("bcc", ""), "", "bounced recipients are not envelope recipients")

    # ---- the sandbox's own email address

    def test_email_address_per_sandbox(self):
        inbox = self.new_inbox("Email Route")
        other = self.new_inbox("Email Other")
        alias = inbox["email_username"]
        self.assertRegex(alias, r"^[a-z0-9-]+-[0-9a-z]{6}$")
        self.assertFalse(inbox["email_username_enabled"])
        self.assertEqual(inbox["email_domain"], EMAIL_DOMAIN)
        address = f"{alias}@{EMAIL_DOMAIN}"
        no_sandbox = (554, b"5.5.1 Error: no sandbox for this email")

        def rcpt(to):
            with self.sb.smtp() as client:
                self.assertEqual(client.mail("sam@example.com")[0], 250)
                reply = client.rcpt(to)
                if reply[0] == 250:
                    return queued_id(client.data(make_message("to " + to, to=to)))
                return reply

        self.assertEqual(rcpt(address), no_sandbox, "disabled by default")
        toggled = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/toggle_email_username")
        self.assertTrue(toggled["email_username_enabled"])
        self.assertEqual(toggled["email_username"], alias)
        first = rcpt(address)
        self.assertIsInstance(first, int)
        tagged = rcpt(f"{alias}+signup-42@{EMAIL_DOMAIN}")
        self.assertIsInstance(tagged, int)
        upper = rcpt(f"{alias.upper()}@{EMAIL_DOMAIN.upper()}")
        self.assertIsInstance(upper, int)
        wrong_hash = alias[:-6] + ("zzzzzz" if alias[-6:] != "zzzzzz" else "yyyyyy")
        self.assertEqual(rcpt(f"{wrong_hash}@{EMAIL_DOMAIN}"), no_sandbox)
        self.assertEqual(rcpt(f"{alias[:-7]}@{EMAIL_DOMAIN}"), no_sandbox, "the alias without its hash")
        self.assertEqual(rcpt(f"{other['email_username']}@{EMAIL_DOMAIN}"), no_sandbox, "other is still disabled")
        self.assertEqual(rcpt(f"nobody-abcdef@{EMAIL_DOMAIN}"), no_sandbox)
        self.assertEqual(rcpt("somebody@example.com"), (530, b"5.7.1 Authentication required"))
        self.assertEqual({m["id"] for m in self.sb.messages(inbox["id"])}, {first, tagged, upper})
        self.assertEqual(self.sb.messages(other["id"]), [])

        # A custom alias keeps the hash; the previous address stops working.
        custom = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]), {"inbox": {"email_username": "My.App"}})
        self.assertEqual(custom["email_username"], "my.app-" + alias[-6:])
        self.assertTrue(custom["email_username"].endswith(alias[-6:]))
        self.assertEqual(rcpt(address), no_sandbox, "the previous alias stops working")
        by_custom = rcpt(f"{custom['email_username']}+x@{EMAIL_DOMAIN}")
        self.assertIsInstance(by_custom, int)
        # reset_email_username goes back to the default alias: the custom one fails, the default works again.
        reset = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/reset_email_username")
        self.assertEqual(reset["email_username"], alias)
        self.assertTrue(reset["email_username_enabled"])
        self.assertEqual(rcpt(f"{custom['email_username']}@{EMAIL_DOMAIN}"), no_sandbox,
                         "the old alias fails after the reset")
        again = rcpt(address)
        self.assertIsInstance(again, int)
        self.assertEqual({m["id"] for m in self.sb.messages(inbox["id"])}, {first, tagged, upper, by_custom, again})
        off = self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/toggle_email_username")
        self.assertFalse(off["email_username_enabled"])
        self.assertEqual(rcpt(address), no_sandbox, "disabled again")

    # ---- the wait endpoint

    def wait(self, inbox_id, **query):
        path = self.sb.inbox_path(inbox_id) + "/messages/wait?" + "&".join(f"{k}={v}" for k, v in query.items())
        start = time.monotonic()
        status, body = self.sb.api("GET", path)
        return status, body, time.monotonic() - start

    def test_wait_for_a_message(self):
        inbox = self.new_inbox()
        result = {}
        waiter = threading.Thread(target=lambda: result.update(
            answer=self.wait(inbox["id"], search="subject:wakeup", timeout=8)))
        waiter.start()
        time.sleep(0.3)
        with self.sb.smtp(inbox) as client:
            deliver(client, "sam@example.com", ["rita@example.com"], make_message("something else"))
            mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"],
                                    make_message("please wakeup now")))
        waiter.join(timeout=10)
        status, body, elapsed = result["answer"]
        self.assertEqual(status, 200, body)
        self.assertEqual((body["id"], body["subject"]), (mid, "please wakeup now"))
        self.assertLess(elapsed, 6)

        status, body, elapsed = self.wait(inbox["id"], search="subject:wakeup", timeout=5)
        self.assertEqual((status, body["id"]), (200, mid), "an existing match is returned")
        self.assertLess(elapsed, 1.5, "at once")

        status, body, elapsed = self.wait(inbox["id"], search="subject:never", timeout=1)
        self.assertEqual(status, 408, body)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 4)
        status, body, _ = self.wait(inbox["id"], search="subject:wakeup", after_id=mid, timeout=1)
        self.assertEqual(status, 408, "after_id skips what is already there")

        # after_id: the next match, not the one already seen
        waiter = threading.Thread(target=lambda: result.update(
            answer=self.wait(inbox["id"], search="wakeup", after_id=mid, timeout=8)))
        waiter.start()
        time.sleep(0.3)
        with self.sb.smtp(inbox) as client:
            newer = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("wakeup again")))
        waiter.join(timeout=10)
        status, body, elapsed = result["answer"]
        self.assertEqual((status, body["id"], body["subject"]), (200, newer, "wakeup again"))
        self.assertLess(elapsed, 6)

    # ---- search

    def test_search_syntax(self):
        inbox = self.new_inbox()
        with self.sb.smtp(inbox) as client:
            ids = {}
            for key, data in (
                    ("m1", make_message("Invoice 42 ready", sender="Alice Anders <alice@alpha.test>",
                                        to="Bob Brown <bob@beta.test>", text="the quarterly zebra report\n")),
                    ("m2", make_message("Weekly digest", sender="carol@gamma.test", to="Dave Dunn <dave@delta.test>",
                                        text="nothing much here\n", html="<p>an <b>orchid</b> bloomed</p>",
                                        attachment=("data.bin", "application/octet-stream", b"\x00\x01\x02"))),
                    ("m3", make_message("Re: lunch plans", sender="alice@alpha.test", to="erin@epsilon.test",
                                        text="meet at the blue door\n"))):
                ids[key] = queued_id(deliver(client, "bounce@sender.test", ["rcpt@example.com"], data))
        names = {v: k for k, v in ids.items()}

        def found(query):
            return sorted(names[m["id"]] for m in self.sb.messages(inbox["id"], query))

        expectations = [
            ("", ["m1", "m2", "m3"]),
            ("invoice", ["m1"]),             # a subject word, any case
            ("INVOICE", ["m1"]),
            ("dave@delta.test", ["m2"]),     # the To address
            ("Dunn", ["m2"]),                # the To name
            ("zebra", ["m1"]),               # only in the text body
            ("orchid", ["m2"]),              # only in the HTML body
            ("from:alice", ["m1", "m3"]),
            ("from:carol@gamma.test", ["m2"]),
            ("to:erin", ["m3"]),
            ("to:bob@beta.test", ["m1"]),
            ("subject:digest", ["m2"]),
            ("subject:zebra", []),           # the body is not the subject
            ("has:attachment", ["m2"]),
            ("-has:attachment", ["m1", "m3"]),
            ('"blue door"', ["m3"]),
            ('"door blue"', []),
            ("-from:alice", ["m2"]),
            ("from:alice -lunch", ["m1"]),
            ("from:alice subject:lunch", ["m3"]),
            ("-zebra -orchid", ["m3"]),
            ("nosuchwordanywhere", []),
            ("is:unread", ["m1", "m2", "m3"]),
            ("is:read", []),
        ]
        for query, expected in expectations:
            self.assertEqual(found(query), expected, query)
        self.sb.ok("PATCH", f"{self.sb.inbox_path(inbox['id'])}/messages/{ids['m1']}", {"message": {"is_read": True}})
        self.assertEqual(found("is:read"), ["m1"])
        self.assertEqual(found("is:unread"), ["m2", "m3"])
        self.assertEqual(found("-is:read from:alice"), ["m3"])
        self.sb.ok("PATCH", f"{self.sb.inbox_path(inbox['id'])}/messages/{ids['m1']}",
                   {"message": {"is_read": False}})
        self.assertEqual(found("is:read"), [])

    # ---- hostile and malformed input

    def raw_session(self, inbox):
        sock = socket.create_connection(("127.0.0.1", self.sb.smtp_port), timeout=10)
        self.assertTrue(read_reply(sock).startswith("220 "))
        sock.sendall(b"EHLO client.test\r\n")
        self.assertIn("250 ", read_reply(sock))
        token = base64.b64encode(f"\0{inbox['username']}\0{inbox['password']}".encode()).decode()
        sock.sendall(f"AUTH PLAIN {token}\r\n".encode())
        self.assertTrue(read_reply(sock).startswith("235 "))
        return sock

    def test_bare_lf_in_data_is_rejected_and_nothing_is_smuggled(self):
        inbox = self.new_inbox()
        for body in (b"Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n",
                     # the SMTP smuggling shape: <LF>.<CRLF> then a second transaction in the same DATA
                     b"Subject: smuggler\r\n\r\nhello\n.\r\nMAIL FROM:<evil@example.com>\r\n"
                     b"RCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n",
                     b"Subject: bare cr\r\n\r\nhello\r.\r\n.\r\n"):
            sock = self.raw_session(inbox)
            sock.sendall(b"MAIL FROM:<sam@example.com>\r\nRCPT TO:<rita@example.com>\r\nDATA\r\n")
            replies = ""
            while "354 " not in replies:
                replies += read_reply(sock)
            sock.sendall(body)
            reply = read_reply(sock)
            self.assertRegex(reply, r"^521 5\.5\.2 Error: bare <(LF|CR)> received\r\n", body)
            sock.settimeout(5)
            rest = b""
            try:
                while chunk := sock.recv(4096):
                    rest += chunk
            except OSError:
                pass
            self.assertEqual(rest, b"", "the connection is closed after the 521")
            sock.close()
        self.assertEqual(self.sb.messages(inbox["id"]), [])

    def test_malformed_messages_are_still_stored_and_listed(self):
        inbox = self.new_inbox()
        samples = {
            "no headers": b"just some text, no header block at all\r\nsecond line\r\n",
            "broken mime": (b"Subject: broken mime\r\nMIME-Version: 1.0\r\n"
                            b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n"
                            b"--never-closed\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                            b"!!!not base64!!!\r\n--wrong-boundary--\r\n"),
            "garbage headers": b"::::\r\nSubject\r\n: no name\r\nX-\x80\xff: binary\r\n\r\nbody\r\n",
            "empty": b"",
        }
        ids = {}
        with self.sb.smtp(inbox) as client:
            for name, data in samples.items():
                ids[name] = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], data))
        # A DATA with no content at all (smtplib would add a CRLF).
        sock = self.raw_session(inbox)
        sock.sendall(b"MAIL FROM:<sam@example.com>\r\nRCPT TO:<rita@example.com>\r\nDATA\r\n")
        replies = ""
        while "354 " not in replies:
            replies += read_reply(sock)
        sock.sendall(b".\r\n")
        reply = read_reply(sock)
        self.assertRegex(reply, r"^250 2\.0\.0 Ok: queued as \d+\r\n$")
        ids["nothing"] = int(reply.split()[-1])
        samples["nothing"] = b""
        sock.sendall(b"QUIT\r\n")
        sock.close()
        listed = {m["id"]: m for m in self.sb.messages(inbox["id"])}
        self.assertEqual(set(listed), set(ids.values()))
        self.assertEqual(listed[ids["broken mime"]]["subject"], "broken mime")
        for name, mid in ids.items():
            status, raw, _ = self.sb.part(inbox["id"], mid, "body.raw")
            self.assertEqual(status, 200, name)
            # smtplib ends DATA that does not end in CRLF with one; the message is kept with it.
            expected = samples[name]
            if name != "nothing" and not expected.endswith(b"\r\n"):
                expected += b"\r\n"
            self.assertEqual(raw, expected, name)
            self.assertEqual(self.sb.api("GET", f"{self.sb.inbox_path(inbox['id'])}/messages/{mid}/mail_headers")[0],
                             200, name)
        self.assertEqual(self.sb.subjects(inbox["id"], "subject:broken"), ["broken mime"])

    def test_long_lines_and_large_messages_are_kept_intact(self):
        inbox = self.new_inbox()
        long_line = (b"Subject: one long line\r\nContent-Type: text/html\r\n\r\n<p>" + b"a" * 300000 +
                     b"</p>\r\n.dot after the long line\r\n")
        large = make_message("large", text="".join(f"line {n} of a long text body\n" for n in range(60000)))
        self.assertGreater(len(large), 1_500_000)
        with self.sb.smtp(inbox, timeout=30) as client:
            long_id = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], long_line))
            large_id = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], large,
                                         mail_options=[f"SIZE={len(large)}"]))
        self.assertEqual(self.sb.part(inbox["id"], long_id, "body.raw")[1], long_line)
        self.assertEqual(self.sb.part(inbox["id"], long_id, "body.htmlsource")[1],
                         b"<p>" + b"a" * 300000 + b"</p>\r\n.dot after the long line\r\n")
        self.assertEqual(self.sb.part(inbox["id"], large_id, "body.raw")[1], large)
        self.assertEqual([m["email_size"] for m in self.sb.messages(inbox["id"], "subject:large")], [len(large)])

    def test_every_corpus_message_is_accepted_and_stored(self):
        root = os.path.join(SHARED, "testdata", "mime")
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
        self.assertGreater(len(files), 50, root)
        inbox = self.new_inbox()
        replies = {}
        with self.sb.smtp(inbox, timeout=30) as client:
            for path in files:
                with open(path, "rb") as f:
                    data = normalize_crlf(f.read())
                replies[path] = deliver(client, "sam@example.com", ["rita@example.com"], data)
        refused = {os.path.relpath(p, root): r for p, r in replies.items() if r[0] != 250}
        self.assertEqual(refused, {})
        stored = self.sb.all_messages(inbox["id"])
        self.assertEqual(len(stored), len(files))
        self.assertEqual([m["id"] for m in stored], sorted((m["id"] for m in stored), reverse=True), "newest first")
        self.assertEqual(len(self.sb.messages(inbox["id"])), 30, "30 per page")
        by_last_id, last = [], None
        while True:
            suffix = f"?last_id={last}" if last else ""
            batch = self.sb.ok("GET", self.sb.inbox_path(inbox["id"]) + "/messages" + suffix)
            if not batch:
                break
            by_last_id += [m["id"] for m in batch]
            last = batch[-1]["id"]
        self.assertEqual(by_last_id, [m["id"] for m in stored], "last_id pages the same list")
        self.assertEqual({m["id"] for m in stored}, {queued_id(r) for r in replies.values()})
        self.assertEqual(self.sb.inbox(inbox["id"])["emails_count"], len(files))

    # ---- tenants

    def test_another_accounts_token_reaches_nothing_in_this_sandbox(self):
        inbox = self.new_inbox()
        with self.sb.smtp(inbox) as client:
            mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("private")))
        org = self.sb.boot["organization_id"]
        other = self.sb.ok("POST", f"/api/organizations/{org}/sub_accounts", {"account": {"name": "Tenant B"}})
        issued = self.sb.ok("POST", f"/api/accounts/{other['id']}/api_tokens", {
            "name": "B admin", "resources": [{"resource_type": "account", "resource_id": other["id"],
                                              "access_level": 100}]})
        token_b = issued["token"]
        mine = self.sb.inbox_path(inbox["id"])
        as_b = self.sb.inbox_path(inbox["id"], account=other["id"])
        for path in (mine + "/messages", mine + f"/messages/{mid}", mine + f"/messages/{mid}/body.raw",
                     mine + f"/messages/{mid}/mail_headers", mine + "/messages/wait?timeout=0",
                     as_b + "/messages", as_b + f"/messages/{mid}", as_b + f"/messages/{mid}/body.raw",
                     f"/api/inboxes/{inbox['id']}/messages", f"/api/sandboxes/{inbox['id']}/messages/{mid}"):
            status, body = self.sb.api("GET", path, token=token_b)
            self.assertIn(status, (403, 404), (path, body))
        for method, path, body in (("PATCH", mine + f"/messages/{mid}", {"message": {"is_read": True}}),
                                   ("DELETE", mine + f"/messages/{mid}", None),
                                   ("DELETE", as_b + f"/messages/{mid}", None),
                                   ("PATCH", mine + "/clean", None)):
            status, _ = self.sb.api(method, path, body, token=token_b)
            self.assertIn(status, (403, 404), (method, path))
        send = {"from": {"email": "sam@example.com"}, "to": [{"email": "rita@example.com"}],
                "subject": "cross-tenant", "text": "should not land"}
        for path in (f"/api/send/{inbox['id']}", f"/api/batch/{inbox['id']}"):
            payload = send if path.startswith("/api/send") else {"requests": [send]}
            status, body = self.sb.api("POST", path, payload, token=token_b)
            self.assertIn(status, (403, 404), (path, body))
        # Its own sandbox works with its own token, and only there.
        project = self.sb.ok("POST", f"/api/accounts/{other['id']}/projects", {"project": {"name": "B project"}},
                             token=token_b)
        inbox_b = self.sb.create_inbox("B inbox", project_id=project["id"], account=other["id"], token=token_b)
        status, body = self.sb.api("POST", f"/api/send/{inbox_b['id']}", send, token=token_b)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.sb.api("GET", f"/api/accounts/{other['id']}/inboxes/{inbox_b['id']}/messages",
                                     token=token_b)[1][0]["subject"], "cross-tenant")
        message = self.sb.messages(inbox["id"])
        self.assertEqual([(m["id"], m["subject"], m["is_read"]) for m in message], [(mid, "private", False)])


if __name__ == "__main__":
    unittest.main()
