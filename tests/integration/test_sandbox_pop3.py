"""Opening a sandbox over POP3 with its SMTP credentials, as mail clients do: Python's poplib (plain, STLS and
implicit TLS) and curl read what the sandbox captured, byte for byte as the API's body.raw serves it; DELE + QUIT
deletes through to the API, RSET and a dropped connection keep everything; a second session gets [IN-USE]; the
maildrop is a snapshot taken at login; wrong passwords are refused, slowly, and end the connection after three;
one sandbox's credentials never show another's messages. Runs against SQLite or PostgreSQL
(POSTROOM_TEST_DATABASE), with the real binary named by POSTROOM_BIN."""

import os
import poplib
import socket
import ssl
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))

from postroom_harness import free_port
from sandbox_harness import Sandbox, deliver, make_message, normalize_crlf, queued_id

GREETING = b"+OK Postroom POP3 server ready"


def unverified_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def eventually(check, timeout=5):
    """Polls `check` until it returns something true (for effects committed right after a reply)."""
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.05)


def read_until(sock, terminator, timeout=10):
    """Reads from a raw socket until `terminator` has arrived (or the peer closes)."""
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(terminator):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class SandboxPop3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pop3_port = free_port()
        cls.pop3s_port = free_port()
        cls.sb = Sandbox(["--sandbox-rate", "0", "--rate-limit-requests", "100000",
                          "--sandbox-pop3", f"127.0.0.1:{cls.pop3_port}",
                          "--sandbox-pop3s", f"127.0.0.1:{cls.pop3s_port}"])

    @classmethod
    def tearDownClass(cls):
        cls.sb.close()

    # ---- helpers

    def new_inbox(self):
        return self.sb.create_inbox("pop3-" + uuid.uuid4().hex[:8])

    def send(self, inbox, *messages):
        """Delivers each message over authenticated SMTP; returns the new message ids in order."""
        ids = []
        with self.sb.smtp(inbox) as client:
            for data in messages:
                ids.append(queued_id(deliver(client, "app@example.com", ["rita@example.com"], data)))
        return ids

    def pop(self, inbox=None, tls=None):
        """A poplib client, logged in to `inbox` when given. tls: None (plain), "stls" or "implicit"."""
        if tls == "implicit":
            client = poplib.POP3_SSL("127.0.0.1", self.pop3s_port, timeout=10, context=self.sb.tls_context())
        else:
            client = poplib.POP3("127.0.0.1", self.pop3_port, timeout=10)
        self.addCleanup(client.close)
        if tls == "stls":
            client.stls(context=unverified_context())
        if inbox is not None:
            client.user(inbox["username"])
            client.pass_(inbox["password"])
        return client

    def raw_body(self, inbox, message_id):
        status, data, _ = self.sb.part(inbox["id"], message_id, "body.raw")
        self.assertEqual(status, 200)
        return data

    def api_ids(self, inbox):
        return sorted(m["id"] for m in self.sb.all_messages(inbox["id"]))

    def curl(self, inbox, path, *extra):
        url = f"pop3://{inbox['username']}:{inbox['password']}@127.0.0.1:{self.pop3_port}/{path}"
        return subprocess.run(["curl", "-sS", "--max-time", "20", *extra, url], capture_output=True, timeout=30)

    # ---- the inbox object

    def test_the_inbox_object_names_the_pop3_listeners(self):
        inbox = self.sb.inbox(self.new_inbox()["id"])
        self.assertEqual(inbox["pop3_ports"], [self.pop3_port, self.pop3s_port])
        self.assertEqual(inbox["pop3_domain"], "127.0.0.1")

    # ---- reading

    def test_poplib_reads_exactly_what_the_api_serves(self):
        inbox = self.new_inbox()
        ids = self.send(inbox,
                        make_message("Plain one", text="Hello.\n"),
                        make_message("Dots", text=".leading dot\n..two dots\n.\nend\n"),
                        make_message("With file", html="<p>Hi</p>", attachment=("a.bin", "application/octet-stream",
                                                                                 bytes(range(256)) * 40)))
        client = self.pop(inbox)
        self.assertEqual(client.getwelcome(), GREETING)
        raws = [normalize_crlf(self.raw_body(inbox, i)) for i in ids]
        self.assertEqual(client.stat(), (3, sum(len(r) for r in raws)))
        response, listing, _ = client.list()
        self.assertTrue(response.startswith(b"+OK 3 messages"), response)
        self.assertEqual(listing, [f"{n} {len(r)}".encode() for n, r in enumerate(raws, 1)])
        _, uids, _ = client.uidl()
        self.assertEqual(uids, [f"{n} {i}".encode() for n, i in enumerate(ids, 1)], "arrival order, ids as UIDL")
        self.assertEqual(client.uidl(2), f"+OK 2 {ids[1]}".encode())
        self.assertEqual(client.list(3), f"+OK 3 {len(raws[2])}".encode())
        for n, raw in enumerate(raws, 1):
            response, lines, octets = client.retr(n)
            self.assertEqual(response, f"+OK {len(raw)} octets".encode())
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", raw, "RETR is the stored message, dot-unstuffed")
            self.assertEqual(octets, len(raw), "LIST size = what RETR sends")
        self.assertIn(b".leading dot", raws[1])
        headers = raws[0].split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        self.assertEqual(client.top(1, 0)[1], headers + [b""])
        self.assertEqual(client.top(1, 1)[1], headers + [b"", b"Hello."])
        self.assertEqual(client.quit(), b"+OK Postroom POP3 server signing off (3 messages left)")
        self.assertEqual(self.api_ids(inbox), ids, "nothing deleted")
        self.assertTrue(eventually(lambda: all(m["is_read"] for m in self.sb.all_messages(inbox["id"]))),
                        "RETR marks messages read")

    def test_top_alone_does_not_mark_read(self):
        inbox = self.new_inbox()
        self.send(inbox, make_message("Unread"))
        client = self.pop(inbox)
        client.top(1, 0)
        client.quit()
        self.assertFalse(self.sb.all_messages(inbox["id"])[0]["is_read"])

    # ---- deleting

    def test_dele_then_quit_deletes_and_rset_keeps(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("First"), make_message("Second"), make_message("Third"))
        client = self.pop(inbox)
        client.dele(1)
        with self.assertRaises(poplib.error_proto) as refused:
            client.retr(1)
        self.assertEqual(refused.exception.args[0], b"-ERR message 1 already deleted")
        self.assertEqual(client.rset(), b"+OK maildrop has 3 messages (%d octets)" % client.stat()[1])
        client.quit()
        self.assertEqual(self.api_ids(inbox), ids, "RSET undid the DELE")

        client = self.pop(inbox)
        client.dele(1)
        client.dele(3)
        self.assertEqual(client.stat()[0], 1)
        self.assertEqual(self.api_ids(inbox), ids, "nothing happens before QUIT")
        self.assertEqual(client.quit(), b"+OK Postroom POP3 server signing off (1 message left)")
        self.assertEqual(self.api_ids(inbox), [ids[1]])
        self.assertEqual(self.sb.inbox(inbox["id"])["emails_count"], 1)

        client = self.pop(inbox)
        self.assertEqual(client.uidl()[1], [f"1 {ids[1]}".encode()], "message numbers start over")
        client.quit()

    def test_a_dropped_connection_deletes_nothing(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("Keep me"))
        client = self.pop(inbox)
        client.dele(1)
        client.close()

        def login_again():
            try:
                return self.pop(inbox)
            except poplib.error_proto:  # [IN-USE] until the server has seen the connection go
                return None

        again = eventually(login_again)
        self.assertIsNotNone(again, "the sandbox is free again")
        self.assertEqual(again.stat()[0], 1)
        again.quit()
        self.assertEqual(self.api_ids(inbox), ids)

    def test_a_message_deleted_through_the_api_during_the_session(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("Going"), make_message("Staying"))
        client = self.pop(inbox)
        self.sb.ok("DELETE", f"{self.sb.inbox_path(inbox['id'])}/messages/{ids[0]}")
        with self.assertRaises(poplib.error_proto) as gone:
            client.retr(1)
        self.assertEqual(gone.exception.args[0], b"-ERR message 1 is no longer available")
        client.dele(1)
        client.quit()
        self.assertEqual(self.api_ids(inbox), [ids[1]])

    # ---- sessions

    def test_the_maildrop_is_a_snapshot_taken_at_login(self):
        inbox = self.new_inbox()
        self.send(inbox, make_message("Before"))
        client = self.pop(inbox)
        self.send(inbox, make_message("After"))
        self.assertEqual(client.stat()[0], 1)
        self.assertEqual(len(client.list()[1]), 1)
        client.quit()
        client = self.pop(inbox)
        self.assertEqual(client.stat()[0], 2)
        client.quit()

    def test_a_second_session_gets_in_use(self):
        inbox = self.new_inbox()
        self.send(inbox, make_message("Locked"))
        first = self.pop(inbox)
        second = self.pop()
        second.user(inbox["username"])
        with self.assertRaises(poplib.error_proto) as busy:
            second.pass_(inbox["password"])
        self.assertEqual(busy.exception.args[0], b"-ERR [IN-USE] this sandbox is open in another POP3 session")
        first.quit()
        second.user(inbox["username"])  # the same connection may try again
        self.assertTrue(second.pass_(inbox["password"]).startswith(b"+OK maildrop has 1 message"))
        second.quit()

    def test_wrong_passwords_are_refused_then_the_connection_closes(self):
        inbox = self.new_inbox()
        client = self.pop()
        started = time.monotonic()
        for attempt in range(3):
            client.user(inbox["username"])
            with self.assertRaises(poplib.error_proto) as refused:
                client.pass_("wrong-" + str(attempt))
            self.assertEqual(refused.exception.args[0], b"-ERR [AUTH] invalid login or password")
            if attempt < 2:
                self.assertIn("USER", client.capa(), "the session survives a failed login")
        self.assertGreaterEqual(time.monotonic() - started, 2.5, "each failure is answered after a delay")
        with self.assertRaises((poplib.error_proto, OSError)):
            client.user(inbox["username"])
        # A fresh connection with the right password works.
        fresh = self.pop(inbox)
        self.assertEqual(fresh.stat(), (0, 0))
        fresh.quit()

    def test_credentials_of_one_sandbox_never_show_another(self):
        a, b = self.new_inbox(), self.new_inbox()
        ids_a = self.send(a, make_message("Only in A"))
        ids_b = self.send(b, make_message("Only in B"), make_message("Also in B"))
        client = self.pop(a)
        self.assertEqual(client.uidl()[1], [f"1 {ids_a[0]}".encode()])
        self.assertIn(b"Subject: Only in A", b"\r\n".join(client.retr(1)[1]))
        client.quit()
        client = self.pop(b)
        self.assertEqual(client.uidl()[1], [f"{n} {i}".encode() for n, i in enumerate(ids_b, 1)])
        client.quit()
        mixed = self.pop()
        mixed.user(a["username"])
        with self.assertRaises(poplib.error_proto):
            mixed.pass_(b["password"])

    # ---- TLS

    def test_stls_upgrades_the_plain_listener(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("Over TLS"))
        client = self.pop()
        capabilities = client.capa()
        for name in ("STLS", "USER", "TOP", "UIDL", "PIPELINING", "RESP-CODES", "SASL"):
            self.assertIn(name, capabilities)
        client.stls(context=unverified_context())
        self.assertNotIn("STLS", client.capa())
        client.user(inbox["username"])
        client.pass_(inbox["password"])
        self.assertEqual(b"\r\n".join(client.retr(1)[1]) + b"\r\n", normalize_crlf(self.raw_body(inbox, ids[0])))
        client.quit()

    def test_pop3s_listener_speaks_implicit_tls(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("Implicit TLS"))
        client = self.pop(inbox, tls="implicit")
        self.assertEqual(client.getwelcome(), GREETING)
        self.assertNotIn("STLS", client.capa())
        self.assertEqual(b"\r\n".join(client.retr(1)[1]) + b"\r\n", normalize_crlf(self.raw_body(inbox, ids[0])))
        client.dele(1)
        client.quit()
        self.assertEqual(self.api_ids(inbox), [])

    # ---- curl

    def test_curl_lists_and_retrieves(self):
        inbox = self.new_inbox()
        ids = self.send(inbox, make_message("For curl", text=".dot line\nsecond\n"), make_message("Second"))
        raws = [normalize_crlf(self.raw_body(inbox, i)) for i in ids]
        listing = self.curl(inbox, "")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertEqual(listing.stdout, b"".join(f"{n} {len(r)}\r\n".encode() for n, r in enumerate(raws, 1)))
        message = self.curl(inbox, "1")
        self.assertEqual(message.returncode, 0, message.stderr)
        self.assertEqual(message.stdout, raws[0])
        over_tls = self.curl(inbox, "2", "--ssl-reqd", "--insecure")
        self.assertEqual(over_tls.returncode, 0, over_tls.stderr)
        self.assertEqual(over_tls.stdout, raws[1])
        wrong = subprocess.run(["curl", "-sS", "--max-time", "20",
                                f"pop3://{inbox['username']}:nope@127.0.0.1:{self.pop3_port}/1"],
                               capture_output=True, timeout=30)
        self.assertNotEqual(wrong.returncode, 0)

    # ---- the wire

    def test_pipelined_commands_and_hostile_lines(self):
        inbox = self.new_inbox()
        self.send(inbox, make_message("Pipelined"))
        with socket.create_connection(("127.0.0.1", self.pop3_port), timeout=10) as sock:
            self.assertEqual(read_until(sock, b"\r\n"), GREETING + b"\r\n")
            sock.sendall(b"X" * 300 + b"\r\nFROB\r\nUSER " + inbox["username"].encode() + b"\r\nPASS " +
                         inbox["password"].encode() + b"\r\nSTAT\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n")
            transcript = read_until(sock, b"signing off (1 message left)\r\n")
        lines = transcript.split(b"\r\n")
        self.assertEqual(lines[0], b"-ERR line too long")
        self.assertEqual(lines[1], b"-ERR unknown command")
        self.assertEqual(lines[2], b"+OK send PASS")
        self.assertTrue(lines[3].startswith(b"+OK maildrop has 1 message ("), lines[3])
        self.assertRegex(lines[4], rb"^\+OK 1 \d+$")
        self.assertRegex(lines[5], rb"^\+OK 1 \d+$")
        self.assertEqual(lines[6], b"+OK")


if __name__ == "__main__":
    unittest.main()
