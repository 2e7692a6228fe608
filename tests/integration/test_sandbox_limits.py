"""The Email Sandbox limits as a real SMTP client meets them, each with its exact reply: message size, the rate
per sandbox per 10 seconds, the monthly account limit, FIFO eviction, the default sandbox for unauthenticated
mail; and kill -9 loses no acknowledged message. Each needs its own server options, so each test starts one."""

import os
import signal
import smtplib
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from sandbox_harness import EMAIL_DOMAIN, Sandbox, deliver, make_message, queued_id

RATE_LIMITED = (550, b"5.7.0 Requested action not taken: too many emails per second")
MONTHLY = (535, b"5.7.0 Monthly messages limit reached")


class SandboxLimitsTest(unittest.TestCase):
    def start(self, extra):
        sb = Sandbox(extra, smtps=False)
        self.addCleanup(sb.close)
        return sb

    def send_api(self, sb, inbox_id, subject, text="via the API"):
        return sb.api("POST", f"/api/send/{inbox_id}", {
            "from": {"email": "api@example.com"}, "to": [{"email": "rita@example.com"}],
            "subject": subject, "text": text})

    def test_size_fifo_and_default_sandbox(self):
        sb = self.start(lambda boot: ["--sandbox-rate", "0", "--sandbox-max-message-size", "2048",
                                      "--sandbox-max-messages", "3",
                                      "--sandbox-default-inbox", str(boot["inbox_id"])])
        with self.subTest("size"):
            inbox = sb.create_inbox("size")
            self.assertEqual(inbox["max_message_size"], 2048)
            big = make_message("too big", text="x" * 3000 + "\n")
            small = make_message("small enough")
            with sb.smtp(inbox) as client:
                self.assertEqual(client.esmtp_features["size"], "2048")
                # Undeclared size: the whole DATA is read, then refused; the session goes on.
                self.assertEqual(deliver(client, "sam@example.com", ["rita@example.com"], big),
                                 (552, b"5.3.4 Error: message too big"))
                queued_id(deliver(client, "sam@example.com", ["rita@example.com"], small))
                # Declared with SIZE= (what smtplib.sendmail does): refused at MAIL with the same code.
                with self.assertRaises(smtplib.SMTPSenderRefused) as caught:
                    client.sendmail("sam@example.com", ["rita@example.com"], big)
                self.assertEqual(caught.exception.smtp_code, 552)
                self.assertTrue(caught.exception.smtp_error.startswith(b"5.3.4 "), caught.exception.smtp_error)
                # Exactly at the limit is fine.
                exact = b"From: sam@example.com\r\nTo: rita@example.com\r\nSubject: exact\r\n\r\n"
                while len(exact) < 2048 - 80:
                    exact += b"y" * 78 + b"\r\n"
                exact += b"y" * (2048 - len(exact) - 2) + b"\r\n"
                self.assertEqual(len(exact), 2048)
                queued_id(deliver(client, "sam@example.com", ["rita@example.com"], exact))
                self.assertEqual(deliver(client, "sam@example.com", ["rita@example.com"], exact + b"z"),
                                 (552, b"5.3.4 Error: message too big"))
            self.assertEqual(sorted(sb.subjects(inbox["id"])), ["exact", "small enough"])
            status, body = self.send_api(sb, inbox["id"], "api too big", text="x" * 3000)
            self.assertEqual(status, 413, body)
            self.assertEqual(body["success"], False)

        with self.subTest("fifo"):
            inbox = sb.create_inbox("fifo")
            self.assertEqual(inbox["max_size"], 3)
            ids = []
            with sb.smtp(inbox) as client:
                for n in range(1, 6):
                    ids.append(queued_id(deliver(client, "sam@example.com", ["rita@example.com"],
                                                 make_message(f"fifo {n}"))))
            self.assertEqual([(m["id"], m["subject"]) for m in sb.messages(inbox["id"])],
                             [(ids[4], "fifo 5"), (ids[3], "fifo 4"), (ids[2], "fifo 3")])
            for evicted in ids[:2]:
                self.assertEqual(sb.api("GET", f"{sb.inbox_path(inbox['id'])}/messages/{evicted}")[0], 404)
                self.assertEqual(sb.api("GET", f"{sb.inbox_path(inbox['id'])}/messages/{evicted}/body.raw")[0], 404)
            self.assertEqual(self.send_api(sb, inbox["id"], "fifo 6")[0], 200)
            self.assertEqual(sb.subjects(inbox["id"]), ["fifo 6", "fifo 5", "fifo 4"])
            counts = sb.inbox(inbox["id"])
            self.assertEqual((counts["emails_count"], counts["emails_unread_count"]), (3, 3))

        with self.subTest("default sandbox"):
            default_id = sb.boot["inbox_id"]
            other = sb.create_inbox("not default")
            before = len(sb.messages(default_id))
            with sb.smtp() as client:
                mid = queued_id(deliver(client, "dev@localhost.test", ["anyone@example.com", "else@example.org"],
                                        make_message("unauthenticated dev mail")))
                # The bounce emulator still answers first.
                self.assertEqual(client.mail("dev@localhost.test")[0], 250)
                self.assertEqual(client.rcpt("bounce+550+gone@example.com"), (550, b"gone"))
                client.rset()
                # A sandbox address that does not exist is still refused, not sent to the default sandbox.
                self.assertEqual(client.mail("dev@localhost.test")[0], 250)
                self.assertEqual(client.rcpt(f"nobody-abcdef@{EMAIL_DOMAIN}"),
                                 (554, b"5.5.1 Error: no sandbox for this email"))
                client.rset()
            with sb.smtp(other) as client:
                authed = queued_id(deliver(client, "sam@example.com", ["anyone@example.com"],
                                           make_message("authenticated mail")))
            default_messages = sb.messages(default_id)
            self.assertEqual(len(default_messages), before + 1)
            self.assertEqual((default_messages[0]["id"], default_messages[0]["subject"]),
                             (mid, "unauthenticated dev mail"))
            self.assertEqual([m["id"] for m in sb.messages(other["id"])], [authed], "a login wins over the default")

    def test_rate_per_sandbox_per_10_seconds(self):
        sb = self.start(["--sandbox-rate", "3"])
        a = sb.create_inbox("rate A")
        b = sb.create_inbox("rate B")
        start = time.monotonic()
        with sb.smtp(a) as client:
            # Abandoned transactions are not messages: they use none of the rate.
            for _ in range(3):
                self.assertEqual(client.mail("sam@example.com")[0], 250)
                client.rset()
            self.assertEqual(client.mail("sam@example.com")[0], 250)
            self.assertEqual(client.rcpt("bounce+550+gone@example.com"), (550, b"gone"))
            client.rset()
            for n in range(3):
                queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message(f"rate {n}")))
            self.assertEqual(client.mail("sam@example.com"), RATE_LIMITED)
            client.rset()
            with self.assertRaises(smtplib.SMTPSenderRefused) as caught:
                client.sendmail("sam@example.com", ["rita@example.com"], make_message("rate 3"))
            self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error), RATE_LIMITED)
        with sb.smtp(a) as client:  # a new connection changes nothing
            self.assertEqual(client.mail("sam@example.com"), RATE_LIMITED)
        status, body = self.send_api(sb, a["id"], "rate api")
        self.assertEqual(status, 429, body)
        with sb.smtp(b) as client:  # per sandbox: another one is not affected
            queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("rate b")))
        self.assertLess(time.monotonic() - start, 9, "all of it inside one window")
        self.assertEqual(sorted(sb.subjects(a["id"])), ["rate 0", "rate 1", "rate 2"])
        self.assertEqual(sb.subjects(b["id"]), ["rate b"])

    def test_rate_applies_to_the_sandbox_email_address(self):
        sb = self.start(["--sandbox-rate", "2"])
        inbox = sb.create_inbox("rate by address")
        alias = sb.ok("PATCH", sb.inbox_path(inbox["id"]) + "/toggle_email_username")["email_username"]
        replies = []
        with sb.smtp() as client:
            for n in range(3):
                replies.append(deliver(client, "sam@example.com", [f"{alias}@{EMAIL_DOMAIN}"],
                                       make_message(f"by address {n}")))
        self.assertEqual([r[0] for r in replies[:2]], [250, 250])
        self.assertEqual(replies[2], RATE_LIMITED)
        self.assertEqual(len(sb.messages(inbox["id"])), 2)
        # A message for two sandboxes, one of them over its rate: refused, and stored in neither (a retry must not
        # leave a duplicate in the other).
        other = sb.create_inbox("rate other")
        other_alias = sb.ok("PATCH", sb.inbox_path(other["id"]) + "/toggle_email_username")["email_username"]
        with sb.smtp() as client:
            self.assertEqual(deliver(client, "sam@example.com",
                                     [f"{other_alias}@{EMAIL_DOMAIN}", f"{alias}@{EMAIL_DOMAIN}"],
                                     make_message("for both")), RATE_LIMITED)
            self.assertEqual(sb.messages(other["id"]), [])
            for n in range(2):
                queued_id(deliver(client, "sam@example.com", [f"{other_alias}@{EMAIL_DOMAIN}"],
                                  make_message(f"for other {n}")))
        self.assertEqual(sb.subjects(other["id"]), ["for other 1", "for other 0"],
                         "the refused message used none of its rate")
        self.assertEqual(len(sb.messages(inbox["id"])), 2)

    def test_monthly_testing_message_limit(self):
        sb = self.start(["--testing-message-limit", "2", "--sandbox-rate", "0"])
        inbox = sb.create_inbox("monthly")
        second = sb.create_inbox("monthly other")
        with sb.smtp(inbox) as client:
            queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("month 1")))
            queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("month 2")))
            # Logged in before the limit was reached: refused at MAIL.
            self.assertEqual(client.mail("sam@example.com"), MONTHLY)
        for target in (inbox, second):  # the limit is the account's, across its sandboxes
            with sb.smtp() as client:
                with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                    client.login(target["username"], target["password"])
                self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error), MONTHLY)
        with sb.smtp() as client:  # a wrong password is still just a wrong password
            with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                client.login(inbox["username"], "wrong")
            self.assertEqual(caught.exception.smtp_code, 535)
            self.assertEqual(caught.exception.smtp_error, b"5.7.0 Invalid login or password")
        status, body = self.send_api(sb, second["id"], "month api")
        self.assertEqual(status, 403, body)
        self.assertEqual(body, {"success": False, "errors": ["Monthly messages limit reached"]})
        alias = sb.ok("PATCH", sb.inbox_path(second["id"]) + "/toggle_email_username")["email_username"]
        with sb.smtp() as client:
            self.assertEqual(deliver(client, "sam@example.com", [f"{alias}@{EMAIL_DOMAIN}"],
                                     make_message("month by address")), MONTHLY)
        self.assertEqual(sorted(sb.subjects(inbox["id"])), ["month 1", "month 2"])
        self.assertEqual(sb.messages(second["id"]), [])
        usage = sb.ok("GET", f"/api/accounts/{sb.account}/billing/usage")
        self.assertEqual(usage["testing"]["usage"]["sent_messages_count"], {"current": 2, "limit": 2})

    def test_recipients_per_transaction_and_connections_per_ip(self):
        sb = self.start(["--smtp-max-recipients", "2", "--smtp-max-connections-per-ip", "2"])
        inbox = sb.create_inbox("conn")
        with sb.smtp(inbox) as first, sb.smtp() as second:
            self.assertEqual(first.mail("sam@example.com")[0], 250)
            self.assertEqual(first.rcpt("a@example.com")[0], 250)
            self.assertEqual(first.rcpt("b@example.com")[0], 250)
            self.assertEqual(first.rcpt("c@example.com"), (452, b"4.5.3 Error: too many recipients"))
            mid = queued_id(first.data(make_message("two of three", to="a@example.com")))
            third = socket.create_connection(("127.0.0.1", sb.smtp_port), timeout=5)
            greeting = b""
            while chunk := third.recv(4096):
                greeting += chunk
            third.close()
            self.assertRegex(greeting, rb"^421 4\.7\.0 \S+ Error: too many connections\r\n$")
            second.noop()  # the connections already open are unaffected
        headers = sb.ok("GET", f"{sb.inbox_path(inbox['id'])}/messages/{mid}/mail_headers")["headers"]
        self.assertEqual(headers["bcc"], "b@example.com")
        deadline = time.monotonic() + 5
        while True:  # once they are closed, a new connection is welcome again
            with socket.create_connection(("127.0.0.1", sb.smtp_port), timeout=5) as again:
                if again.recv(4096).startswith(b"220 "):
                    break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)

    def test_kill_9_loses_no_acknowledged_message(self):
        sb = self.start(["--sandbox-rate", "0"])
        inbox = sb.inbox(sb.boot["inbox_id"])
        acknowledged = {}
        lock = threading.Lock()
        stop = threading.Event()
        enough = threading.Event()

        def send(worker):
            try:
                with sb.smtp(inbox) as client:
                    for i in range(40):
                        if stop.is_set():
                            return
                        subject = f"durable {worker}-{i}"
                        mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"],
                                                make_message(subject)))
                        with lock:
                            acknowledged[subject] = mid
                            if len(acknowledged) >= 60:
                                enough.set()
            except (smtplib.SMTPException, OSError, AssertionError):
                return  # the server was killed mid-transaction: that message was never acknowledged

        threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        enough.wait(timeout=60)
        sb.inst.process.send_signal(signal.SIGKILL)  # while the other connections are still sending
        stop.set()
        for t in threads:
            t.join(timeout=30)
        with lock:
            acked = dict(acknowledged)
        self.assertGreaterEqual(len(acked), 60)
        sb.restart(signal.SIGKILL)
        stored = {m["subject"]: m["id"] for m in sb.all_messages(inbox["id"])}
        missing = {s: i for s, i in acked.items() if stored.get(s) != i}
        self.assertEqual(missing, {})
        with sb.smtp(inbox) as client:  # and it takes mail again
            queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("after restart")))


if __name__ == "__main__":
    unittest.main()
