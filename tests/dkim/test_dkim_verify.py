"""DKIM signatures made by postroom_dkim (tests/dkim/dkim_sign_tool), verified by dkimpy with the public keys
served by a dnsmasq on a free loopback port and fetched with dnspython. Run with Debian's python3."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import dkim
import dns.message
import dns.query
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from postroom_harness import free_port  # noqa: E402

TOOL = os.environ["POSTROOM_DKIM_SIGN_TOOL"]




def split255(value):
    return [value[i:i + 255] for i in range(0, len(value), 255)] or [""]


class DkimVerify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        subprocess.run([TOOL, cls.tmp.name], check=True)
        cls.keys = {}
        with open(os.path.join(cls.tmp.name, "keys.tsv")) as f:
            for line in f:
                sel, value = line.rstrip("\n").split("\t")
                cls.keys[sel] = value
        cls.port = free_port()
        args = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=", f"--port={cls.port}",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--local=/example.test/", "--log-facility=-"]
        for sel, value in cls.keys.items():
            # Long RSA keys are served as several character-strings of at most 255 octets.
            args.append(f"--txt-record={sel}._domainkey.example.test," + ",".join(split255(value)))
        cls.dnsmasq = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.dnsmasq.terminate()
        cls.dnsmasq.wait()
        cls.tmp.cleanup()

    def dnsfunc(self, name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        r = dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout)
        for rrset in r.answer:
            for rdata in rrset:
                if rdata.rdtype == dns.rdatatype.TXT:
                    return b"".join(rdata.strings)
        return None

    def messages(self):
        return sorted(f for f in os.listdir(self.tmp.name) if f.endswith(".eml"))

    def test_served_keys_are_split_and_rejoined(self):
        self.assertEqual(self.dnsfunc("rsa1._domainkey.example.test").decode(), self.keys["rsa1"])
        self.assertEqual(self.dnsfunc("ed1._domainkey.example.test").decode(), self.keys["ed1"])
        self.assertGreater(len(self.keys["rsa1"]), 255)

    def test_every_signature_verifies(self):
        names = self.messages()
        self.assertEqual(len(names), 8 * 3)
        for name in names:
            with open(os.path.join(self.tmp.name, name), "rb") as f:
                raw = f.read()
            count = 2 if name.endswith(".dual.eml") else 1
            for idx in range(count):
                with self.subTest(message=name, signature=idx):
                    d = dkim.DKIM(raw)
                    self.assertTrue(d.verify(idx=idx, dnsfunc=self.dnsfunc), f"{name} #{idx}")

    def test_tampering_is_detected(self):
        for sel in ("rsa1", "ed1"):
            with open(os.path.join(self.tmp.name, f"utf8.{sel}.eml"), "rb") as f:
                raw = f.read()
            self.assertTrue(dkim.verify(raw, dnsfunc=self.dnsfunc))
            self.assertFalse(dkim.verify(raw.replace("Köln".encode(), b"Koeln"), dnsfunc=self.dnsfunc))
            self.assertFalse(dkim.verify(raw.replace(b"Subject: Hello", b"Subject: Hellp"), dnsfunc=self.dnsfunc))
            # An added second Subject breaks the oversigned signature.
            self.assertFalse(dkim.verify(raw.replace(b"Subject: Hello", b"Subject: Hello\r\nSubject: x"),
                                         dnsfunc=self.dnsfunc))
            # Whitespace changes are what relaxed canonicalization forgives.
            self.assertTrue(dkim.verify(raw.replace(b"indented  line", b"indented \t line"), dnsfunc=self.dnsfunc))

    def test_algorithms(self):
        with open(os.path.join(self.tmp.name, "plain.ed1.eml"), "rb") as f:
            self.assertIn(b"a=ed25519-sha256", f.read())
        with open(os.path.join(self.tmp.name, "plain.rsa1.eml"), "rb") as f:
            self.assertIn(b"a=rsa-sha256", f.read())


if __name__ == "__main__":
    unittest.main()
