"""Reports about captured messages through the API of the real binary:
- the blacklists report: the From domain and the linked domains looked up in DNS blocklists served by dnsmasq on
  loopback (a --blocklists file naming test zones), listed and unlisted entries with their return-code meanings, a
  refused query reported as an error rather than as listed, the loopback client IP not looked up; the report is
  kept and shown as the message object's blacklists_report_info (false before it is made);
- the HTML Check: GET …/analyze in Mailtrap's shape and …/html_check with market support and filters.
Nothing is fetched from message content (the links are only looked up as names in the blocklist zones).
Runs against SQLite or PostgreSQL (POSTROOM_TEST_DATABASE) with the binary named by POSTROOM_BIN."""

import os
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live_sending as live  # noqa: E402

ZONE = live.ZONE
DBL = f"dbl.{ZONE}"
IPBL = f"ipbl.{ZONE}"
BLOCKLISTS = f"""
[Test IP list]
kind = ip
zone = {IPBL}
url = https://ipbl.example/
code 127.0.0.2 = listed test IP listing

[Test domain list]
kind = domain
zone = {DBL}
url = https://dbl.example/lookup
code 127.0.1.2 = listed spam domain
code 127.255.255.254 = error query refused: public resolver
"""
SPAMMER = f"spammer.{ZONE}"
BADLINK = f"badlink.{ZONE}"
REFUSED = f"refused.{ZONE}"
CLEAN = f"clean.{ZONE}"


def setUpModule():
    live.WORLD["dns"] = live.Dns()
    live.WORLD["dns"].zones["blocklists"] = [f"host-record={SPAMMER}.{DBL},127.0.1.2",
                                             f"host-record={BADLINK}.{DBL},127.0.1.2",
                                             f"host-record={REFUSED}.{DBL},127.255.255.254"]
    live.WORLD["dns"].reload()


def tearDownModule():
    live.WORLD.pop("dns").close()


class SandboxReports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-reports-")
        lists = os.path.join(cls.tmp.name, "blocklists.conf")
        with open(lists, "w") as f:
            f.write(BLOCKLISTS)
        cls.srv = live.Postroom("--blocklists", lists)
        cls.inbox = cls.srv.boot["inbox_id"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.tmp.cleanup()

    def capture(self, subject, sender, html=None, text="plain text\n"):
        body = {"from": {"email": sender}, "to": [{"email": "qa@example.test"}], "subject": subject, "text": text}
        if html is not None:
            body["html"] = html
        self.srv.ok("POST", f"/api/send/{self.inbox}", body)
        for m in self.srv.ok("GET", self.srv.a(f"/inboxes/{self.inbox}/messages")):
            if m["subject"] == subject:
                return m
        raise AssertionError(f"{subject} not captured")

    def message_path(self, message_id, suffix=""):
        return self.srv.a(f"/inboxes/{self.inbox}/messages/{message_id}{suffix}")

    def test_blacklists_report_lists_listed_unlisted_and_refused(self):
        html = (f'<p><a href="https://{BADLINK}/offer">offer</a> <a href="http://www.{CLEAN}/x">clean</a> '
                f'<a href="https://{REFUSED}/">refused</a> <a href="mailto:someone@{CLEAN}">mail</a></p>')
        message = self.capture("Blacklist me", f"promo@{SPAMMER}", html)
        self.assertIs(message["blacklists_report_info"], False, "no report before one is asked for")
        report = self.srv.ok("GET", self.message_path(message["id"], "/blacklists_report"))
        self.assertEqual(report["domain"], SPAMMER)
        self.assertEqual(report["ip"], "127.0.0.1")
        by_list = {entry["name"]: entry for entry in report["report"]}
        self.assertEqual(set(by_list), {"Test IP list", "Test domain list"})
        self.assertTrue(by_list["Test domain list"]["in_black_list"])
        checks = {c["item"]: c for c in by_list["Test domain list"]["checks"]}
        self.assertEqual(checks[SPAMMER]["status"], "listed")
        self.assertEqual(checks[SPAMMER]["query"], f"{SPAMMER}.{DBL}")
        self.assertEqual(checks[SPAMMER]["codes"][0]["meaning"], "spam domain")
        self.assertEqual(checks[BADLINK]["status"], "listed")
        self.assertEqual(checks[REFUSED]["status"], "error", "a refused query says nothing about the domain")
        clean = [c for item, c in checks.items() if item.endswith(CLEAN)]
        self.assertTrue(clean and all(c["status"] == "not_listed" for c in clean), checks)
        ip_checks = by_list["Test IP list"]["checks"]
        self.assertEqual([c["status"] for c in ip_checks], ["skipped"], "loopback is not looked up")
        self.assertFalse(by_list["Test IP list"]["in_black_list"])

        shown = self.srv.ok("GET", self.message_path(message["id"]))["blacklists_report_info"]
        self.assertEqual(shown, report, "the kept report is the message object's blacklists_report_info")
        listed = [m for m in self.srv.ok("GET", self.srv.a(f"/inboxes/{self.inbox}/messages"))
                  if m["id"] == message["id"]]
        self.assertEqual(listed[0]["blacklists_report_info"], report)

    def test_clean_sender_is_not_listed(self):
        message = self.capture("Clean sender", f"news@{CLEAN}")
        report = self.srv.ok("GET", self.message_path(message["id"], "/blacklists_report"))
        domain_list = [e for e in report["report"] if e["name"] == "Test domain list"][0]
        self.assertFalse(domain_list["in_black_list"])
        self.assertEqual(report["result"], "success")

    def test_reports_of_unknown_messages_and_other_accounts(self):
        self.assertEqual(self.srv.api("GET", self.message_path(999999, "/blacklists_report"))[0], 404)
        self.assertEqual(self.srv.api("GET", self.message_path(999999, "/spam_report"))[0], 404)
        message = self.capture("Spam report without spamd", f"a@{CLEAN}")
        status, body = self.srv.api("GET", self.message_path(message["id"], "/spam_report"))
        self.assertEqual(status, 503, body)
        self.assertIn("no spam scanner (spamd) is configured", body["errors"])

    def test_html_check_finds_features_with_lines_and_filters(self):
        html = ("<html>\n<head><style>\n@media (max-width:600px) { .a { display:flex } }\n</style></head>\n"
                "<body>\n<div style=\"display:flex\">x</div>\n<svg></svg>\n</body></html>")
        message = self.capture("HTML check", f"a@{CLEAN}", html)
        analysis = self.srv.ok("GET", self.message_path(message["id"], "/analyze"))
        self.assertEqual(analysis["report"]["status"], "success")
        lines = {}
        for error in analysis["report"]["errors"]:
            self.assertEqual(sorted(error["email_clients"]), ["desktop", "mobile", "web"])
            lines.setdefault(error["rule_name"], []).append(error["error_line"])
        self.assertEqual(sorted(lines["display:flex"]), [3, 6], lines)
        self.assertEqual(lines["@media"], [3])
        self.assertEqual(lines["<style> element"], [2])

        full = self.srv.ok("GET", self.message_path(message["id"], "/html_check"))
        slugs = {f["slug"]: f["lines"] for f in full["findings"]}
        self.assertEqual(slugs["css-display-flex"], [3, 6])
        self.assertEqual(slugs["html-svg"], [7])
        self.assertLess(full["market_support"], 100)
        self.assertEqual({f["key"] for f in full["families"]}, {"apple-mail", "gmail", "outlook", "yahoo", "other"})
        gmail = self.srv.ok("GET", self.message_path(message["id"], "/html_check?families=gmail&platforms=web"))
        self.assertEqual([f["key"] for f in gmail["families"]], ["gmail"])
        self.assertEqual([p["key"] for p in gmail["platforms"]], ["web"])
        self.assertTrue(all(c["family_group"] == "gmail" and c["group"] == "web" for c in gmail["clients"]),
                        gmail["clients"])
        status, body = self.srv.api("GET", self.message_path(message["id"], "/html_check?families=hotmail"))
        self.assertEqual(status, 422, body)

    def test_html_check_of_a_text_only_message_is_clean(self):
        message = self.capture("Text only", f"a@{CLEAN}")
        analysis = self.srv.ok("GET", self.message_path(message["id"], "/analyze"))
        self.assertEqual(analysis, {"report": {"status": "success", "errors": []}})
        full = self.srv.ok("GET", self.message_path(message["id"], "/html_check"))
        self.assertEqual((full["market_support"], full["findings"]), (100, []))
        self.assertEqual(self.srv.api("GET", self.message_path(999999, "/analyze"))[0], 404)

    def test_no_report_fetches_anything_the_message_links_to(self):
        trap = socket.socket()
        trap.bind(("127.0.0.1", 0))
        trap.listen(8)
        trap.setblocking(False)
        port = trap.getsockname()[1]
        try:
            html = (f'<img src="http://127.0.0.1:{port}/pixel.gif"><a href="http://127.0.0.1:{port}/a">a</a>'
                    f'<link rel="stylesheet" href="http://127.0.0.1:{port}/s.css">'
                    f'<style>@import url("http://127.0.0.1:{port}/i.css"); '
                    f'body {{ background: url(http://127.0.0.1:{port}/bg.png) }}</style>')
            message = self.capture("SSRF bait", f"a@{CLEAN}", html)
            for suffix in ("/blacklists_report", "/analyze", "/html_check", "/tech_info", "/body.html", ""):
                self.srv.ok("GET", self.message_path(message["id"], suffix))
            with self.assertRaises(BlockingIOError, msg="something connected to the linked address"):
                trap.accept()
        finally:
            trap.close()


if __name__ == "__main__":
    unittest.main()
