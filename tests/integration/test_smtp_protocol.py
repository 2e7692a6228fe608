"""Real SMTP clients (Python smtplib, swaks, curl, raw sockets) against smtp_test_server: a real smtp::Server
with an in-memory backend (tests/smtp/smtp_test_server.cpp documents its rules). Asserts reply codes and the
exact delivered bytes."""

import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

SERVER = os.environ.get("POSTROOM_SMTP_TEST_SERVER", "build/tests/smtp_test_server")
HAVE_SWAKS = shutil.which("swaks") is not None
HAVE_CURL = shutil.which("curl") is not None


def swaks_has_tls():
    if not HAVE_SWAKS:
        return False
    out = subprocess.run(["swaks", "--support"], capture_output=True, text=True)
    return "=== TLS supported" in out.stdout + out.stderr  # needs Net::SSLeay (libnet-ssleay-perl)


class TestServer:
    def __init__(self, *args):
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-smtp-")
        self.dir = self.tmp.name
        self.out = open(os.path.join(self.dir, "stdout"), "w+")
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.process = subprocess.Popen([SERVER, "--dir", self.dir, *args], stdout=self.out, stderr=self.err,
                                        text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            self.out.seek(0)
            line = self.out.readline()
            if line.endswith("\n"):
                self.ports = json.loads(line)
                break
            if self.process.poll() is not None:
                raise RuntimeError("smtp_test_server exited: " + open(os.path.join(self.dir, "stderr")).read())
            time.sleep(0.05)
        else:
            raise RuntimeError("smtp_test_server did not start")
        self.cert = self.ports["cert"]
        self.tls = ssl.create_default_context(cafile=self.cert)
        self.tls.check_hostname = False

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        self.out.seek(0)
        return self.process.returncode, self.out.read()

    def close(self):
        self.stop()
        self.out.close()
        self.err.close()
        self.tmp.cleanup()

    def messages_dir(self):
        return os.path.join(self.dir, "messages")

    def count(self):
        return len([n for n in os.listdir(self.messages_dir()) if n.endswith(".eml")])

    def message(self, number):
        base = os.path.join(self.messages_dir(), str(number))
        with open(base + ".eml", "rb") as f:
            body = f.read()
        with open(base + ".json") as f:
            return body, json.load(f)

    def last(self):
        return self.message(self.count())


class Raw:
    """A line-oriented raw SMTP client."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """Reads one (possibly multi-line) reply; returns (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed; got %r" % (lines + [self.buffer],))
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), lines

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


MESSAGE = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: test\r\n\r\n"
           b"first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n\r\n8bit: \xc3\xa9\r\nlast line\r\n")


def stuffed(message):
    out = b""
    for line in message.split(b"\r\n")[:-1]:
        out += (b"." + line if line.startswith(b".") else line) + b"\r\n"
    return out


class RawMixin:
    def raw(self, port):
        client = Raw(port)
        self.addCleanup(client.close)
        return client


class SmtpProtocolTest(RawMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TestServer("--max-size", "1048576", "--max-recipients", "5", "--max-errors", "5")

    @classmethod
    def tearDownClass(cls):
        code, out = cls.server.stop()
        cls.server.close()
        assert code == 0, out

    def port(self, name):
        return self.server.ports[name]

    def assertDelivered(self, body, rcpts=None, **envelope):
        got_body, got_env = self.server.last()
        self.assertEqual(got_body, body)
        if rcpts is not None:
            self.assertEqual(got_env["rcpt_to"], rcpts)
        for key, value in envelope.items():
            self.assertEqual(got_env[key], value, key)
        return got_env

    # ---------------------------------------------------------------- smtplib

    def test_smtplib_plain_without_auth(self):
        with smtplib.SMTP("127.0.0.1", self.port("starttls"), timeout=10) as smtp:
            refused = smtp.sendmail("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
            self.assertEqual(refused, {})
        self.assertDelivered(MESSAGE, ["b@example.com", "c@example.com"], tls=False, user=None,
                             mail_from="a@example.com")

    def test_smtplib_starttls_auth_plain(self):
        with smtplib.SMTP("127.0.0.1", self.port("auth"), timeout=10) as smtp:
            smtp.starttls(context=self.server.tls)
            smtp.ehlo()
            smtp.user, smtp.password = "user", "pass"
            code, text = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
            self.assertEqual((code, text), (235, b"2.7.0 Authentication successful"))
            smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE)
        self.assertDelivered(MESSAGE, tls=True, user="user", mechanism="PLAIN")

    def test_smtplib_auth_login_without_initial_response(self):
        with smtplib.SMTP("127.0.0.1", self.port("auth"), timeout=10) as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = "user", "pass"
            self.assertEqual(smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)[0], 235)
            smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: login\r\n\r\nx\r\n")
        self.assertDelivered(b"Subject: login\r\n\r\nx\r\n", mechanism="LOGIN", tls=False)

    def test_smtplib_implicit_tls_cram_md5(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.port("implicit_tls"), timeout=10, context=self.server.tls) as smtp:
            smtp.ehlo()
            self.assertIn("CRAM-MD5", smtp.esmtp_features["auth"])
            smtp.user, smtp.password = "user", "pass"
            self.assertEqual(smtp.auth("CRAM-MD5", smtp.auth_cram_md5)[0], 235)
            smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE)
        self.assertDelivered(MESSAGE, tls=True, mechanism="CRAM-MD5")

    def test_auth_required_and_wrong_password(self):
        with smtplib.SMTP("127.0.0.1", self.port("auth"), timeout=10) as smtp:
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE)
            self.assertEqual(refused.exception.smtp_code, 530)
            self.assertEqual(refused.exception.smtp_error, b"5.7.1 Authentication required")
            with self.assertRaises(smtplib.SMTPAuthenticationError) as failed:
                smtp.login("user", "wrong")
            self.assertEqual(failed.exception.smtp_code, 535)
            self.assertEqual(failed.exception.smtp_error, b"5.7.0 Invalid login or password")

    def test_backend_recipient_replies(self):
        with smtplib.SMTP("127.0.0.1", self.port("starttls"), timeout=10) as smtp:
            refused = smtp.sendmail("a@example.com", ["reject@example.com", "ok@example.com", "tempfail@x.org"],
                                    b"Subject: r\r\n\r\nx\r\n")
            self.assertEqual(refused["reject@example.com"], (550, b"5.1.1 Mailbox unavailable (test backend)"))
            self.assertEqual(refused["tempfail@x.org"], (451, b"4.2.0 Try again later (test backend)"))
            self.assertDelivered(b"Subject: r\r\n\r\nx\r\n", ["ok@example.com"])
            with self.assertRaises(smtplib.SMTPDataError) as failed:
                smtp.sendmail("a@example.com", ["faildeliver@example.com"], b"Subject: f\r\n\r\nx\r\n")
            self.assertEqual(failed.exception.smtp_code, 554)

    def test_declared_size_over_limit_refused_at_mail(self):
        with smtplib.SMTP("127.0.0.1", self.port("starttls"), timeout=10) as smtp:
            with self.assertRaises(smtplib.SMTPSenderRefused) as refused:
                smtp.sendmail("a@example.com", ["b@example.com"], b"x" * 1100000)
            self.assertEqual(refused.exception.smtp_code, 552)

    def test_smtputf8(self):
        with smtplib.SMTP("127.0.0.1", self.port("starttls"), timeout=10) as smtp:
            smtp.sendmail("δοκιμή@παράδειγμα.δοκιμή", ["ü@пример.рф"], "Subject: ü\r\n\r\nü\r\n".encode(),
                          mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        env = self.assertDelivered("Subject: ü\r\n\r\nü\r\n".encode(), ["ü@пример.рф"], smtputf8=True)
        self.assertEqual(env["body"], 2)

    # ---------------------------------------------------------------- swaks and curl

    @unittest.skipUnless(HAVE_SWAKS, "swaks not installed")
    def test_swaks_plain(self):
        body = "Subject: swaks\r\n\r\nhello from swaks\r\n.dot"  # swaks adds the final CRLF
        out = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port('starttls')}", "--from", "s@example.com",
                              "--to", "r@example.com", "--data", body, "--pipeline"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("250 2.0.0 Ok: queued", out.stdout)
        self.assertDelivered(body.encode() + b"\r\n", ["r@example.com"], mail_from="s@example.com")

    @unittest.skipUnless(swaks_has_tls(), "swaks without TLS support (libnet-ssleay-perl)")
    def test_swaks_starttls_auth(self):
        for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5"]:
            out = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port('auth')}", "-tls", "--auth", mechanism,
                                  "--auth-user", "user", "--auth-password", "pass", "--from", "s@example.com",
                                  "--to", "r@example.com", "--data", "Subject: tls\r\n\r\nbody"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertDelivered(b"Subject: tls\r\n\r\nbody\r\n", tls=True, mechanism=mechanism)

    @unittest.skipUnless(swaks_has_tls(), "swaks without TLS support (libnet-ssleay-perl)")
    def test_swaks_implicit_tls(self):
        out = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port('implicit_tls')}", "--tlsc", "--auth",
                              "LOGIN", "--auth-user", "user", "--auth-password", "pass", "--from", "s@example.com",
                              "--to", "r@example.com", "--data", "Subject: tlsc\r\n\r\nbody"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertDelivered(b"Subject: tlsc\r\n\r\nbody\r\n", tls=True, mechanism="LOGIN")

    @unittest.skipUnless(HAVE_CURL, "curl not installed")
    def test_curl(self):
        path = os.path.join(self.server.dir, "upload.eml")
        with open(path, "wb") as f:
            f.write(MESSAGE)
        base = ["curl", "-sS", "--mail-from", "c@example.com", "--mail-rcpt", "r@example.com", "--upload-file", path]
        out = subprocess.run(base + [f"smtp://127.0.0.1:{self.port('starttls')}"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertDelivered(MESSAGE, ["r@example.com"], mail_from="c@example.com", tls=False)
        out = subprocess.run(base + ["--ssl-reqd", "--cacert", self.server.cert, "--user", "user:pass",
                                     f"smtp://127.0.0.1:{self.port('auth')}"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertDelivered(MESSAGE, tls=True, user="user")
        out = subprocess.run(base + ["--cacert", self.server.cert, "--user", "user:pass",
                                     f"smtps://127.0.0.1:{self.port('implicit_tls')}"], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertDelivered(MESSAGE, tls=True, user="user")
        out = subprocess.run(base + ["--user", "user:wrong", f"smtp://127.0.0.1:{self.port('auth')}"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 67, out.stderr)  # CURLE_LOGIN_DENIED

    # ---------------------------------------------------------------- raw sockets

    def open_transaction(self, raw, rcpt="b@example.com"):
        self.assertEqual(raw.reply()[0], 220)
        raw.send("EHLO raw.test\r\n")
        self.assertEqual(raw.reply()[0], 250)
        raw.send(f"MAIL FROM:<a@example.com>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in raw.replies(3)], [250, 250, 354])

    def test_pipelining_in_one_packet(self):
        raw = self.raw(self.port("plain"))
        self.assertEqual(raw.reply()[0], 220)
        raw.send("EHLO raw.test\r\n")
        code, lines = raw.reply()
        self.assertIn("250-PIPELINING", lines)
        raw.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<reject@example.com>\r\n"
                 "RCPT TO:<c@example.com>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in raw.replies(5)], [250, 250, 550, 250, 354])
        before = self.server.count()
        raw.send(stuffed(MESSAGE) + b".\r\nMAIL FROM:<x@example.com>\r\nRSET\r\nQUIT\r\n")
        replies = raw.replies(4)
        self.assertEqual([r[0] for r in replies], [250, 250, 250, 221])
        self.assertEqual(self.server.count(), before + 1)
        self.assertDelivered(MESSAGE, ["b@example.com", "c@example.com"])
        self.assertTrue(raw.closed())

    def test_dot_stuffing_split_across_packets(self):
        raw = self.raw(self.port("plain"))
        self.open_transaction(raw)
        data = stuffed(MESSAGE) + b".\r\n"
        for i in range(0, len(data), 7):
            raw.send(data[i:i + 7])
            time.sleep(0.002)
        self.assertEqual(raw.reply()[0], 250)
        self.assertDelivered(MESSAGE)
        raw.close()

    def test_smuggling_bare_lf_and_bare_cr_rejected(self):
        for attack in [b"Subject: s\r\n\r\nhi\n.\r\nMAIL FROM:<evil@example.com>\r\n",
                       b"Subject: s\r\n\r\nhi\r\n.\nMAIL FROM:<evil@example.com>\r\n",
                       b"Subject: s\r\n\r\nhi\r.\r\nMAIL FROM:<evil@example.com>\r\n"]:
            before = self.server.count()
            raw = self.raw(self.port("plain"))
            self.open_transaction(raw)
            raw.send(attack + b"RCPT TO:<x@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n")
            code, lines = raw.reply()
            self.assertEqual(code, 521, lines)
            self.assertTrue(lines[0].startswith("521 5.5.2 Error: bare"))
            self.assertTrue(raw.closed())
            self.assertEqual(self.server.count(), before)
            raw.close()

    def test_message_too_big_while_reading(self):
        raw = self.raw(self.port("plain"))
        self.open_transaction(raw)
        line = b"x" * 998 + b"\r\n"
        raw.send(line * 1100 + b".\r\n")  # 1.1 MB, over the 1 MiB limit
        self.assertEqual(raw.reply(), (552, ["552 5.3.4 Error: message too big"]))
        raw.send("NOOP\r\n")
        self.assertEqual(raw.reply()[0], 250)
        raw.close()

    def test_backend_lowers_size_limit(self):
        raw = self.raw(self.port("plain"))
        self.open_transaction(raw, rcpt="small@example.com")
        raw.send(b"y" * 200 + b"\r\n.\r\n")
        self.assertEqual(raw.reply(), (552, ["552 5.3.4 Error: message too big"]))
        raw.close()

    def test_starttls_discards_pipelined_commands(self):
        raw = self.raw(self.port("starttls"))
        self.assertEqual(raw.reply()[0], 220)
        raw.send("EHLO raw.test\r\n")
        raw.reply()
        raw.send("STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        self.assertEqual(raw.reply()[0], 220)
        tls = self.server.tls.wrap_socket(raw.sock, server_hostname="localhost")
        raw.sock, raw.buffer = tls, b""
        raw.send("EHLO raw.test\r\n")
        code, lines = raw.reply()
        self.assertEqual(code, 250)
        self.assertNotIn("250-STARTTLS", lines)
        raw.send("RCPT TO:<b@example.com>\r\n")
        self.assertEqual(raw.reply()[0], 503)  # the injected MAIL never ran
        raw.send("QUIT\r\n")
        self.assertEqual(raw.reply()[0], 221)
        raw.close()

    def test_limits_on_lines_recipients_and_errors(self):
        raw = self.raw(self.port("plain"))
        self.assertEqual(raw.reply()[0], 220)
        raw.send("EHLO " + "h" * 600 + "\r\n")
        self.assertEqual(raw.reply(), (500, ["500 5.5.2 Error: line too long"]))
        raw.send("EHLO raw.test\r\nMAIL FROM:<a@example.com>\r\n")
        raw.replies(2)
        raw.send("".join(f"RCPT TO:<r{i}@example.com>\r\n" for i in range(6)))
        self.assertEqual([r[0] for r in raw.replies(6)], [250] * 5 + [452])
        for _ in range(3):
            raw.send("BOGUS\r\n")
            self.assertEqual(raw.reply()[0], 500)
        raw.send("BOGUS\r\n")  # the fifth error (the long line was the first)
        self.assertEqual(raw.reply()[0], 500)
        self.assertEqual(raw.reply(), (421, ["421 4.7.0 postroom.test Error: too many errors"]))
        self.assertTrue(raw.closed())

    def test_http_request_dropped(self):
        raw = self.raw(self.port("plain"))
        raw.reply()
        raw.send("POST / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(raw.reply()[0], 521)
        self.assertTrue(raw.closed())

    def test_deliveries_run_in_parallel(self):
        # Each delivery to slow@ takes 1 s in the backend; eight at once must not take eight seconds.
        errors = []

        def send():
            try:
                with smtplib.SMTP("127.0.0.1", self.port("starttls"), timeout=20) as smtp:
                    smtp.sendmail("a@example.com", ["slow@example.com"], b"Subject: slow\r\n\r\nx\r\n")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=send) for _ in range(8)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertLess(time.time() - started, 5)


class SmtpServerLifecycleTest(RawMixin, unittest.TestCase):
    def test_command_timeout(self):
        server = TestServer("--command-timeout", "1")
        try:
            raw = self.raw(server.ports["plain"])
            self.assertEqual(raw.reply()[0], 220)
            self.assertEqual(raw.reply(), (421, ["421 4.4.2 postroom.test Error: timeout exceeded"]))
            self.assertTrue(raw.closed())
        finally:
            server.close()

    def test_command_timeout_starts_again_with_each_command(self):
        # Each command moves the deadline later: the watchdog, woken at the old one, must wait for the new one.
        server = TestServer("--command-timeout", "2")
        try:
            raw = self.raw(server.ports["plain"])
            self.assertEqual(raw.reply()[0], 220)
            started = time.time()
            for _ in range(4):
                time.sleep(1.2)
                raw.send("NOOP\r\n")
                self.assertEqual(raw.reply()[0], 250)
            self.assertGreater(time.time() - started, 4.5)  # well past the first deadline, still served
            self.assertEqual(raw.reply(), (421, ["421 4.4.2 postroom.test Error: timeout exceeded"]))
            self.assertLess(time.time() - started, 4.8 + 2 + 1.5)
            self.assertTrue(raw.closed())
        finally:
            server.close()

    def test_connections_per_ip(self):
        server = TestServer("--max-connections-per-ip", "2")
        try:
            first, second = self.raw(server.ports["plain"]), self.raw(server.ports["starttls"])
            self.assertEqual(first.reply()[0], 220)
            self.assertEqual(second.reply()[0], 220)
            third = self.raw(server.ports["plain"])
            self.assertEqual(third.reply(), (421, ["421 4.7.0 postroom.test Error: too many connections"]))
            self.assertTrue(third.closed())
            first.send("QUIT\r\n")
            first.reply()
            self.assertTrue(first.closed())
            time.sleep(0.2)
            fourth = self.raw(server.ports["plain"])
            self.assertEqual(fourth.reply()[0], 220)
        finally:
            server.close()

    def test_failed_tls_handshakes_give_their_connection_slot_back(self):
        server = TestServer("--max-connections-per-ip", "2")
        try:
            for _ in range(3):  # more failures than slots: each must be released
                bad = self.raw(server.ports["implicit_tls"])
                bad.send("EHLO not-tls\r\n")  # clear text where a TLS ClientHello belongs
                self.assertTrue(bad.closed())
            time.sleep(0.2)
            after = self.raw(server.ports["plain"])
            self.assertEqual(after.reply()[0], 220)
        finally:
            server.close()

    def test_graceful_shutdown(self):
        server = TestServer("--grace-ms", "10000")
        try:
            idle = self.raw(server.ports["plain"])
            self.assertEqual(idle.reply()[0], 220)
            idle_tls = self.raw(server.ports["implicit_tls"])
            idle_tls.sock = server.tls.wrap_socket(idle_tls.sock, server_hostname="localhost")
            self.assertEqual(idle_tls.reply()[0], 220)
            busy = self.raw(server.ports["plain"])
            self.assertEqual(busy.reply()[0], 220)
            busy.send("EHLO b\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<slow@example.com>\r\nDATA\r\n")
            self.assertEqual([r[0] for r in busy.replies(4)], [250, 250, 250, 354])
            busy.send("Subject: in flight\r\n\r\nx\r\n.\r\n")
            time.sleep(0.3)  # the backend is now committing (1 s)
            server.process.send_signal(signal.SIGTERM)
            self.assertEqual(idle.reply(), (421, ["421 4.3.2 postroom.test Service shutting down"]))
            self.assertEqual(idle_tls.reply(), (421, ["421 4.3.2 postroom.test Service shutting down"]))
            self.assertEqual(busy.reply()[0], 250)  # the in-flight message is acknowledged
            self.assertEqual(busy.reply()[0], 421)
            self.assertTrue(busy.closed())
            code, out = server.stop()
            self.assertEqual(code, 0)
            self.assertIn("stopped", out)
            self.assertIn('postroom_smtp_messages_total{result="accepted"} 1', out)
            self.assertEqual(server.message(1)[0], b"Subject: in flight\r\n\r\nx\r\n")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", server.ports["plain"]), timeout=2)
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main()
