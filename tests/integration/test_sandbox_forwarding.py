"""Sandbox forwarding end to end into a real MTA: a private Postfix (test_postfix_receiver's) receives for a test
domain whose MX dnsmasq serves. Confirmation emails arrive in its Maildirs; the test follows their links like the
address owner would (GET shows a button, POST confirms). Then:
- manual forwarding (POST …/messages/{id}/forward) refuses an unconfirmed address with 422 and delivers to a
  confirmed one, From rewritten to the sandbox's forward address and the original sender in
  X-Mailtrap-Original-From, counted in the inbox and in billing usage;
- automatic forwarding forwards a captured message whose To or Cc names a confirmed address (not a Bcc-only one),
  and for a domain once its TXT record verifies (verify before the record is published says what DNS answered);
- the monthly forwarding limit refuses with 403; other accounts see none of it; tech_info reports the headers,
  the envelope and the List-Unsubscribe check.
Runs against SQLite or PostgreSQL (POSTROOM_TEST_DATABASE) with the binary named by POSTROOM_BIN."""

import atexit
import email
import email.policy
import os
import re
import signal
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live_sending as live  # noqa: E402
import test_postfix_receiver as pfx  # noqa: E402

RCPT_DOMAIN = f"fwd.{live.ZONE}"  # Postfix receives for it
MX_HOST = f"mx-fwd.{live.ZONE}"
AUTO_DOMAIN = RCPT_DOMAIN  # the domain rule's domain (its TXT record proves it)
FORWARD_DOMAIN = "forward.postroom.test"
MAILBOXES = ("alice", "bob", "carol", "dave")
WORLD = {}


def setUpModule():
    if not os.path.exists(pfx.POSTFIX):
        raise AssertionError(f"Postfix is required by this suite and {pfx.POSTFIX} is missing: install it with "
                             "scripts/install-deps.sh --test")
    unittest.addModuleCleanup(pfx.close_resources)
    atexit.register(pfx.close_resources)
    for sig in pfx.SIGNALS:
        signal.signal(sig, pfx.on_signal)
    with pfx.signals_deferred():
        address = pfx.pick_address()
        dns = live.Dns()
        pfx.RESOURCES.append(dns)
        live.WORLD["dns"] = dns
        dns.zones["fwd"] = [f"mx-host={RCPT_DOMAIN},{MX_HOST},10", f"host-record={MX_HOST},{address}"]
        dns.reload()
        WORLD["dns"] = dns
        WORLD["postfix"] = pfx.PostfixReceiver(address, RCPT_DOMAIN, MX_HOST, MAILBOXES)
        pfx.RESOURCES.append(WORLD["postfix"])
        WORLD["postfix"].start()


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


class SandboxForwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.postfix = WORLD["postfix"]
        with pfx.signals_deferred():
            cls.srv = pfx.Postroom("--forward-domain", FORWARD_DOMAIN, "--retry-schedule", "1,1,1")
        cls.inbox = cls.srv.boot["inbox_id"]

    @classmethod
    def tearDownClass(cls):
        with pfx.signals_deferred():
            if cls.srv in pfx.RESOURCES:
                pfx.RESOURCES.remove(cls.srv)
            cls.srv.close()

    # --- helpers ---------------------------------------------------------------------------------------------

    def inbox_path(self, suffix="", inbox=None):
        return self.srv.a(f"/inboxes/{inbox or self.inbox}{suffix}")

    def capture(self, subject, to, cc=(), bcc=(), headers=None, inbox=None):
        """A message captured through the sandbox send API; returns its id once listed."""
        body = {"from": {"email": "app@example.test", "name": "The App"}, "to": [{"email": a} for a in to],
                "subject": subject, "text": f"Body of {subject}\n", "html": f"<p>Body of <b>{subject}</b></p>"}
        if cc:
            body["cc"] = [{"email": a} for a in cc]
        if bcc:
            body["bcc"] = [{"email": a} for a in bcc]
        if headers:
            body["headers"] = headers
        sent = self.srv.ok("POST", f"/api/send/{inbox or self.inbox}", body)
        self.assertTrue(sent["success"], sent)
        for m in self.srv.ok("GET", self.inbox_path("/messages", inbox)):
            if m["subject"] == subject:
                return m["id"]
        raise AssertionError(f"{subject} not captured")

    def add_rule(self, inbox=None, **fields):
        return self.srv.ok("POST", self.inbox_path("/forwarding_rules", inbox), fields)

    def confirmation_link(self, user, marker_address):
        """The link of the confirmation email in user's Maildir."""
        _, data = self.postfix.wait_message(user, b"Confirm email forwarding")
        message = parse(data)
        self.assertIn(marker_address, message["To"])
        self.assertRegex(message["From"], rf"Postroom Forward <[^>]+-i\d+@{re.escape(FORWARD_DOMAIN)}>")
        text = message.get_body(("plain",)).get_content()
        match = re.search(r"(http://\S+/forwarding/confirm/([0-9a-f]{64}))", text)
        self.assertIsNotNone(match, text)
        return match.group(1)

    def follow(self, link, method="GET"):
        request = urllib.request.Request(link, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def confirm(self, user):
        link = self.confirmation_link(user, f"{user}@{RCPT_DOMAIN}")
        status, page = self.follow(link)
        self.assertEqual(status, 200)
        self.assertIn('<form method="post">', page, "GET only shows the button: a link scanner confirms nothing")
        status, page = self.follow(link, "POST")
        self.assertEqual(status, 200)
        self.assertIn("Forwarding confirmed", page)

    def forwarded(self, user, subject):
        _, data = self.postfix.wait_message(user, subject.encode())
        return parse(data)

    # --- tests ---------------------------------------------------------------------------------------------

    def test_manual_forwarding_needs_a_confirmed_address_and_rewrites_from(self):
        message_id = self.capture("Manual forward subject", [f"alice@{RCPT_DOMAIN}"])
        forward = self.inbox_path(f"/messages/{message_id}/forward")
        status, body = self.srv.api("POST", forward, {"email": f"bob@{RCPT_DOMAIN}"})
        self.assertEqual(status, 422, body)
        self.assertIn("not confirmed", body["errors"])

        rule = self.add_rule(email=f"Bob@{RCPT_DOMAIN}")
        self.assertEqual((rule["kind"], rule["purpose"], rule["email"], rule["status"]),
                         ("email", "manual", f"bob@{RCPT_DOMAIN}", "pending"))
        self.assertEqual(self.srv.api("POST", forward, {"email": f"bob@{RCPT_DOMAIN}"})[0], 422, "still pending")
        self.confirm("bob")
        rules = self.srv.ok("GET", self.inbox_path("/forwarding_rules"))
        self.assertEqual([r["status"] for r in rules if r["id"] == rule["id"]], ["active"])

        before = self.srv.ok("GET", self.inbox_path())["forwarded_messages_count"]
        result = self.srv.ok("POST", forward, {"email": f"bob@{RCPT_DOMAIN}"})
        self.assertEqual(result, {"success": True, "message": "Your email message has been successfully forwarded"})
        delivered = self.forwarded("bob", "Manual forward subject")
        inbox = self.srv.ok("GET", self.inbox_path())
        self.assertEqual(delivered["From"], f"Postroom Forward <{inbox['forward_from_email_address']}>")
        self.assertTrue(inbox["forward_from_email_address"].endswith("@" + FORWARD_DOMAIN))
        self.assertEqual(delivered["X-Mailtrap-Original-From"], "The App <app@example.test>")
        self.assertEqual(delivered["To"], f"alice@{RCPT_DOMAIN}", "the original recipients stay as they were")
        self.assertIn("Body of Manual forward subject", delivered.get_body(("plain",)).get_content())
        self.assertEqual(inbox["forwarded_messages_count"], before + 1)
        usage = self.srv.ok("GET", self.srv.a("/billing/usage"))
        self.assertGreaterEqual(usage["testing"]["usage"]["forwarded_messages_count"]["current"], 1)
        # Forwards are not the account's sending: the email logs do not list them.
        self.assertEqual([m for m in self.srv.logs()["messages"] if m["to"] == f"bob@{RCPT_DOMAIN}"], [])

    def test_confirmation_links_are_single_purpose_and_unknown_ones_fail(self):
        status, page = self.follow(self.srv.public_url + "/forwarding/confirm/" + "0" * 64, "POST")
        self.assertEqual(status, 404)
        self.assertIn("not valid", page)
        status, _ = self.follow(self.srv.public_url + "/forwarding/confirm/short")
        self.assertEqual(status, 404)

    def test_automatic_forwarding_by_address_matches_to_and_cc_not_bcc(self):
        rule = self.add_rule(email=f"carol@{RCPT_DOMAIN}", purpose="auto")
        self.assertEqual((rule["purpose"], rule["status"]), ("auto", "pending"))
        pending_subject = "Auto before confirmation"
        self.capture(pending_subject, [f"carol@{RCPT_DOMAIN}"])
        self.confirm("carol")
        self.capture("Auto via Cc", [f"alice@{RCPT_DOMAIN}"], cc=[f"carol@{RCPT_DOMAIN}"])
        delivered = self.forwarded("carol", "Auto via Cc")
        self.assertEqual(delivered["X-Mailtrap-Original-From"], "The App <app@example.test>")
        self.capture("Auto Bcc only", [f"alice@{RCPT_DOMAIN}"], bcc=[f"carol@{RCPT_DOMAIN}"])
        self.capture("Auto after Bcc marker", [f"carol@{RCPT_DOMAIN}"])
        self.forwarded("carol", "Auto after Bcc marker")  # later than the Bcc one: that one had its chance
        subjects = [parse(data)["Subject"] for _, data in self.postfix.messages("carol")]
        self.assertNotIn("Auto Bcc only", subjects)
        self.assertNotIn(pending_subject, subjects, "a pending rule forwards nothing")

    def test_automatic_forwarding_by_verified_domain(self):
        project = self.srv.ok("GET", self.srv.a("/projects"))[0]["id"]
        inbox = self.srv.ok("POST", self.srv.a(f"/projects/{project}/inboxes"), {"inbox": {"name": "Domain fwd"}})
        rule = self.add_rule(inbox=inbox["id"], domain=AUTO_DOMAIN.upper() + ".")
        self.assertEqual((rule["kind"], rule["domain"], rule["status"]), ("domain", AUTO_DOMAIN, "pending"))
        record = rule["dns_record"]
        self.assertEqual((record["type"], record["name"]), ("TXT", AUTO_DOMAIN))
        self.assertRegex(record["value"], r"^postroom-forwarding-verification=[0-9a-f]{32}$")
        verify = self.inbox_path(f"/forwarding_rules/{rule['id']}/verify", inbox["id"])
        status, body = self.srv.api("POST", verify)
        self.assertEqual(status, 422, body)
        self.assertIn("not found", body["errors"]["base"][0])

        dns = WORLD["dns"]
        dns.zones["fwd-txt"] = [live.dns_line(AUTO_DOMAIN, "TXT", record["value"])]
        dns.reload()
        self.assertEqual(self.srv.ok("POST", verify)["status"], "active")
        self.capture("Domain rule subject", [f"dave@{RCPT_DOMAIN}"], inbox=inbox["id"])
        delivered = self.forwarded("dave", "Domain rule subject")
        self.assertTrue(delivered["From"].endswith(f"-i{inbox['id']}@{FORWARD_DOMAIN}>"), delivered["From"])

    def test_rules_validate_and_stay_in_their_account(self):
        for fields, field in (({"email": "not an address"}, "email"), ({"domain": "bad_domain"}, "domain"),
                              ({"email": f"x@{RCPT_DOMAIN}", "purpose": "sometimes"}, "purpose")):
            status, body = self.srv.api("POST", self.inbox_path("/forwarding_rules"), fields)
            self.assertEqual(status, 422, body)
            self.assertIn(field, body["errors"])
        status, body = self.srv.api("POST", self.inbox_path("/forwarding_rules"), {})
        self.assertEqual(status, 422, body)
        rule = self.add_rule(email=f"dup@{RCPT_DOMAIN}")
        status, body = self.srv.api("POST", self.inbox_path("/forwarding_rules"), {"email": f"dup@{RCPT_DOMAIN}"})
        self.assertEqual(status, 422, body)
        self.assertEqual(body["errors"]["email"], ["has already been added"])

        # A second tenant: a sub-account with an admin token of its own sees none of this sandbox's rules.
        srv = self.srv
        other = srv.ok("POST", f"/api/organizations/{srv.boot['organization_id']}/sub_accounts",
                       {"account": {"name": "Tenant B"}})["id"]
        b_token = srv.ok("POST", srv.a("/api_tokens", other), {
            "name": "B admin", "resources": [{"resource_type": "account", "resource_id": other,
                                              "access_level": 100}]})["token"]
        status, _ = srv.api("GET", self.inbox_path("/forwarding_rules"), token=b_token)
        self.assertEqual(status, 403)
        status, _ = srv.api("GET", srv.a(f"/inboxes/{self.inbox}/forwarding_rules", other), token=b_token)
        self.assertIn(status, (403, 404))
        status, _ = srv.api("POST", srv.a(f"/inboxes/{self.inbox}/forwarding_rules", other),
                            {"email": f"b@{RCPT_DOMAIN}"}, token=b_token)
        self.assertIn(status, (403, 404))
        self.assertEqual(self.srv.api("DELETE", self.inbox_path(f"/forwarding_rules/{rule['id']}"))[0], 204)
        self.assertEqual(self.srv.api("DELETE", self.inbox_path(f"/forwarding_rules/{rule['id']}"))[0], 404)

    def test_monthly_forward_limit(self):
        with pfx.signals_deferred():
            srv = pfx.Postroom("--forward-domain", FORWARD_DOMAIN, "--testing-forward-limit", "1")
        try:
            inbox = srv.boot["inbox_id"]
            rule = srv.ok("POST", srv.a(f"/inboxes/{inbox}/forwarding_rules"), {"email": f"alice@{RCPT_DOMAIN}"})
            self.assertEqual(rule["status"], "pending")
            link = self.confirmation_link("alice", f"alice@{RCPT_DOMAIN}")
            self.assertEqual(self.follow(link, "POST")[0], 200)
            srv.ok("POST", f"/api/send/{inbox}", {"from": {"email": "app@example.test"},
                                                   "to": [{"email": f"alice@{RCPT_DOMAIN}"}],
                                                   "subject": "Limit one", "text": "x"})
            message_id = srv.ok("GET", srv.a(f"/inboxes/{inbox}/messages"))[0]["id"]
            forward = srv.a(f"/inboxes/{inbox}/messages/{message_id}/forward")
            srv.ok("POST", forward, {"email": f"alice@{RCPT_DOMAIN}"})
            status, body = srv.api("POST", forward, {"email": f"alice@{RCPT_DOMAIN}"})
            self.assertEqual(status, 403, body)
            self.assertIn("monthly forwarding limit of 1", body["errors"])
        finally:
            with pfx.signals_deferred():
                pfx.RESOURCES.remove(srv)
                srv.close()

    def test_tech_info(self):
        headers = {"List-Unsubscribe": "<https://example.test/u/1>, <mailto:u@example.test>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click", "X-Mailer": "TechInfo 1.0"}
        message_id = self.capture("Tech info subject", [f"alice@{RCPT_DOMAIN}"], bcc=["hidden@example.test"],
                                  headers=headers)
        info = self.srv.ok("GET", self.inbox_path(f"/messages/{message_id}/tech_info"))
        self.assertEqual(info["headers"]["x_mailer"], "TechInfo 1.0")
        self.assertEqual(info["headers"]["from"], "The App <app@example.test>")
        self.assertIn("message_id", info["headers"])
        self.assertNotIn("reply_to", info["headers"], "absent headers are not shown")
        self.assertEqual([b["email"] for b in info["bcc"]], ["hidden@example.test"])
        lu = info["list_unsubscribe"]
        self.assertTrue(lu["present"])
        self.assertEqual(lu["http_uris"], ["https://example.test/u/1"])
        self.assertEqual(lu["mailto_uris"], ["mailto:u@example.test"])
        self.assertFalse(lu["one_click"], "no DKIM signature covers the headers")
        self.assertTrue(any("DKIM" in p for p in lu["problems"]), lu["problems"])
        plain = self.capture("Tech info plain", [f"alice@{RCPT_DOMAIN}"])
        info = self.srv.ok("GET", self.inbox_path(f"/messages/{plain}/tech_info"))
        self.assertEqual(info["bcc"], [])
        self.assertEqual(info["bcc_note"], "There is no Bcc information in this email message")
        self.assertFalse(info["list_unsubscribe"]["present"])


if __name__ == "__main__":
    unittest.main()
