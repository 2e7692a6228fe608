"""Live sending end to end against the real binary: messages accepted over the API (/api/send, /api/batch, the bulk
host and /bulk/api/…) and SMTP submission (smtplib, swaks) are delivered by the delivery engine to real receivers
on loopback port 25, found through MX records served by dnsmasq: Postfix's smtp-sink (each message dumped, so the
delivered bytes, the DKIM signatures checked by dkimpy, and the absence of Bcc / X-MT-* headers are asserted),
Postroom's own sandbox SMTP listener (its bounce emulator gives the 4xx/5xx replies), a scripted greylisting
server, null MX, NXDOMAIN and two-MX domains, require-TLS domains. Then the email logs (statuses, events, filters, search_after, the signed raw
message link), suppressions (hard bounces, one-click unsubscribe, manual ones), Auto BCC, the sending policy
(unverified, foreign and demo domains; SMTP 535/550/538/421 replies), the --relay smarthost, the message size
limit, durability across a kill -9 (at-least-once delivery) and tenant isolation. Runs against SQLite or PostgreSQL (POSTROOM_TEST_DATABASE)
with the binary named by POSTROOM_BIN."""

import base64
import email
import email.policy
import email.utils
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import Installation, free_port  # noqa: E402

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
SMTP_SINK = "/usr/sbin/smtp-sink"
# scripts/install-deps.sh --test installs swaks; a missing one is a broken setup, not a reason to skip.
SWAKS = shutil.which("swaks") or "swaks"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3: dkimpy and dnspython
ZONE = "lt.test"  # every test domain lives under it; dnsmasq answers NXDOMAIN for the rest of it
HOSTNAME = "mta.postroom.test"
SPF_INCLUDE = "_spf.postroom.test"
BOUNCE_HOST = "bounces.postroom.test"
TRACKING_HOST = "t.postroom.test"
DEMO = "demo.postroom.test"
ISO = "%Y-%m-%dT%H:%M:%SZ"


def pick_loopback_base():
    """127.A.B: a loopback /24 whose .2-.6 have port 25 free (parallel runs pick different ones)."""
    for _ in range(100):
        base = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"
        try:
            for host in range(2, 7):
                with socket.socket() as s:
                    s.bind((f"{base}.{host}", 25))
            return base
        except OSError:
            continue
    raise RuntimeError("no loopback /24 with port 25 free")


BASE = pick_loopback_base()
SINK_ADDR, SANDBOX_ADDR, GREY_ADDR, DOWN_ADDR = f"{BASE}.2", f"{BASE}.3", f"{BASE}.4", f"{BASE}.5"

# Recipient domains: MX → receiver on port 25 (or no MX at all, a null MX, nothing).
RECEIVER_RECORDS = [
    f"mx-host=sink.{ZONE},mx-sink.{ZONE},10", f"host-record=mx-sink.{ZONE},{SINK_ADDR}",
    f"mx-host=sandbox.{ZONE},mx-sandbox.{ZONE},10", f"host-record=mx-sandbox.{ZONE},{SANDBOX_ADDR}",
    f"mx-host=grey.{ZONE},mx-grey.{ZONE},10", f"host-record=mx-grey.{ZONE},{GREY_ADDR}",
    f"mx-host=down.{ZONE},mx-down.{ZONE},10", f"host-record=mx-down.{ZONE},{DOWN_ADDR}",
    f"mx-host=tls.{ZONE},mx-sink.{ZONE},10",  # --require-tls-domains: smtp-sink offers no STARTTLS
    f"mx-host=tlsself.{ZONE},mx-sandbox.{ZONE},10",  # --require-tls-domains: a self-signed certificate
    # Two MX hosts each: the lower preference first (listed second here); a host that is down is skipped.
    f"mx-host=prefer.{ZONE},mx-sink.{ZONE},20", f"mx-host=prefer.{ZONE},mx-sandbox.{ZONE},10",
    f"mx-host=backup.{ZONE},mx-sink.{ZONE},20", f"mx-host=backup.{ZONE},mx-down.{ZONE},10",
    f"mx-host=nullmx.{ZONE},.,0",  # RFC 7505
    f"host-record=afallback.{ZONE},{SINK_ADDR}",  # no MX: the A record is the implicit MX
    f"mx-host=postroom.local,mx-sink.{ZONE},10",  # the bootstrap admin's domain (demo domain sends)
]


# ---- DNS (the small helpers of test_sending_domains.py)

def split255(value):
    return [value[i:i + 255] for i in range(0, len(value), 255)] or [""]


def quoted(part):
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dns_line(name, rtype, value):
    if rtype == "CNAME":
        return f"cname={name},{value}"
    if rtype == "MX":
        return f"mx-host={name},{value},10"
    return f"txt-record={name}," + ",".join(quoted(p) for p in split255(value))


class Dns:
    """dnsmasq on a free loopback port serving the receivers' records and the sending domains published so far
    (changing them restarts it on the same port)."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-live-dns-")
        self.conf = os.path.join(self.tmp.name, "zones.conf")
        self.port = free_port()
        self.zones = {"receivers": list(RECEIVER_RECORDS)}
        self.process = None
        self.reload()

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def publish(self, *domains):
        for domain in domains:
            self.zones[domain["domain_name"]] = [dns_line(r["domain"], r["type"], r["value"])
                                                 for r in domain["dns_records"]]
        self.reload()

    def reload(self):
        self.stop()
        with open(self.conf, "w") as f:
            for lines in self.zones.values():
                f.write("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", f"--conf-file={self.conf}", "--pid-file=", f"--port={self.port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", f"--local=/{ZONE}/",
             "--log-facility=/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening("127.0.0.1", self.port, self.process, "dnsmasq")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stderr.close()
            self.process = None

    def close(self):
        self.stop()
        self.tmp.cleanup()


def wait_listening(host, port, process=None, what="listener", timeout=10):
    deadline = time.time() + timeout
    while True:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise AssertionError(f"{what} exited: {err}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


# ---- receivers

class Sink:
    """Postfix's smtp-sink on host:port, dumping every transaction to a file (-d)."""

    def __init__(self, host, port=25):
        self.host, self.port = host, port
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-sink-")
        os.chmod(self.tmp.name, 0o777)
        self.process = subprocess.Popen(
            [SMTP_SINK, "-u", "root", "-d", os.path.join(self.tmp.name, "%H%M%S."), f"{host}:{port}", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening(host, port, self.process, "smtp-sink")

    def messages(self):
        """Every dumped transaction: {"mail_from", "rcpts", "data"} with the message bytes as sent (CRLF)."""
        out = []
        for name in sorted(os.listdir(self.tmp.name)):
            with open(os.path.join(self.tmp.name, name), "rb") as f:
                parsed = parse_sink_dump(f.read())
            if parsed:
                out.append(parsed)
        return out

    def to(self, rcpt, count=1, timeout=10):
        """The `count` messages delivered to `rcpt` (waits for them)."""
        deadline = time.time() + timeout
        while True:
            found = [m for m in self.messages() if rcpt.lower() in m["rcpts"]]
            if len(found) >= count or time.time() > deadline:
                return found
            time.sleep(0.1)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stderr.close()
        self.tmp.cleanup()


def parse_sink_dump(raw):
    """smtp-sink's dump: X-Client-Addr/-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args lines, its own Received
    header, then the message with LF line ends and one extra newline."""
    lines = raw.split(b"\n")
    mail_from, rcpts, i = None, [], 0
    while i < len(lines) and lines[i].startswith((b"X-Client-", b"X-Helo-Args:", b"X-Mail-Args:", b"X-Rcpt-Args:")):
        if lines[i].startswith(b"X-Mail-Args:"):
            mail_from = re.search(rb"<([^>]*)>", lines[i]).group(1).decode()
        if lines[i].startswith(b"X-Rcpt-Args:"):
            rcpts.append(re.search(rb"<([^>]*)>", lines[i]).group(1).decode().lower())
        i += 1
    if i >= len(lines) or not lines[i].startswith(b"Received: from"):
        return None  # still being written
    i += 1
    while i < len(lines) and lines[i][:1] in (b"\t", b" "):
        i += 1
    body = lines[i:]
    if body and body[-1] == b"":
        body = body[:-1]  # the final line end
    if body and body[-1] == b"":
        body = body[:-1]  # smtp-sink's extra newline
    return {"mail_from": mail_from, "rcpts": rcpts, "data": b"\r\n".join(body) + b"\r\n"}


class Greylister:
    """A scripted SMTP server: the first RCPT of each address gets 451 4.7.1 (greylisting), later ones 250."""

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text):
            self.wfile.write(text.encode() + b"\r\n")

        def handle(self):
            server = self.server
            self.reply("220 grey.test ESMTP")
            rcpts = []
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                command = line.decode("latin-1").strip()
                verb = command[:4].upper()
                if verb == "EHLO":
                    self.wfile.write(b"250-grey.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
                elif verb == "HELO":
                    self.reply("250 grey.test")
                elif verb == "MAIL":
                    rcpts = []
                    self.reply("250 2.1.0 Ok")
                elif verb == "RCPT":
                    address = re.search(r"<([^>]*)>", command).group(1).lower()
                    with server.lock:
                        first = address not in server.seen
                        server.seen.add(address)
                    if first:
                        self.reply("451 4.7.1 Greylisted, please try again later")
                    else:
                        rcpts.append(address)
                        self.reply("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not rcpts:
                        self.reply("554 5.5.1 Error: no valid recipients")
                        continue
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    while True:
                        line = self.rfile.readline()
                        if not line or line == b".\r\n":
                            break
                        data.append(line[1:] if line.startswith(b".") else line)
                    with server.lock:
                        server.messages.append((list(rcpts), b"".join(data)))
                    self.reply("250 2.0.0 Ok: queued")
                elif verb == "RSET":
                    rcpts = []
                    self.reply("250 2.0.0 Ok")
                elif verb == "NOOP":
                    self.reply("250 2.0.0 Ok")
                elif verb == "QUIT":
                    self.reply("221 2.0.0 Bye")
                    return
                else:
                    self.reply("502 5.5.2 Error: command not recognized")

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    def __init__(self, host, port=25):
        self.server = self.Server((host, port), self.Handler)
        self.server.lock = threading.Lock()
        self.server.seen = set()
        self.server.messages = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def messages_to(self, rcpt):
        with self.server.lock:
            return [data for rcpts, data in self.server.messages if rcpt.lower() in rcpts]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- DKIM verification with dkimpy (Debian's python3), keys fetched from our dnsmasq

DKIM_SCRIPT = r"""
import json, sys
import dkim, dns.message, dns.query, dns.rdatatype
port = int(sys.argv[1])
def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    r = dns.query.tcp(dns.message.make_query(name, dns.rdatatype.TXT), "127.0.0.1", port=port, timeout=timeout)
    for rrset in r.answer:
        for rdata in rrset:
            if rdata.rdtype == dns.rdatatype.TXT:
                return b"".join(rdata.strings)
    return None
out = []
for path in sys.argv[2:]:
    raw = open(path, "rb").read()
    d = dkim.DKIM(raw)
    count = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    results = []
    for i in range(count):
        try:
            results.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
        except dkim.DKIMException as e:  # a broken message, not a crash
            results.append(False)
            print(f"{path} #{i}: {e}", file=sys.stderr)
    out.append(results)
print(json.dumps(out))
"""


def dkim_results(dns_port_number, *messages):
    """For each message (bytes): one verification result per DKIM-Signature header."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(messages):
            paths.append(os.path.join(tmp, f"{i}.eml"))
            with open(paths[-1], "wb") as f:
                f.write(data)
        out = subprocess.run([SYSTEM_PYTHON, "-c", DKIM_SCRIPT, str(dns_port_number), *paths],
                             capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("dkimpy failed: " + out.stderr)
    return json.loads(out.stdout)


def header_block(data):
    return data.split(b"\r\n\r\n", 1)[0]


def header_names(data):
    return [line.split(b":", 1)[0].decode().lower() for line in header_block(data).split(b"\r\n")
            if line and line[:1] not in (b" ", b"\t")]


def parse_mime(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def insecure_tls():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def iso(when):
    return time.strftime(ISO, time.gmtime(when))


# ---- the world shared by every class: DNS and the receivers

WORLD = {}


def setUpModule():
    WORLD["dns"] = Dns()
    WORLD["sink"] = Sink(SINK_ADDR)
    WORLD["grey"] = Greylister(GREY_ADDR)


def tearDownModule():
    for key in ("grey", "sink", "dns"):
        if key in WORLD:
            WORLD.pop(key).close()


class Postroom:
    """One installation serving the API, SMTP submission (transactional and bulk) and the sandbox SMTP listener,
    with its domain and delivery options pointed at the shared dnsmasq."""

    def __init__(self, *extra, sandbox_smtp=None, domains=()):
        self.inst = Installation()
        self.boot = self.inst.bootstrap()
        self.token = self.boot["api_token"]
        self.account = self.boot["account_id"]
        self.smtp_port = free_port()
        self.bulk_port = free_port()
        self.args = ["--dns-server", WORLD["dns"].server, "--sending-hostname", HOSTNAME, "--spf-include",
                     SPF_INCLUDE, "--bounce-host", BOUNCE_HOST, "--tracking-host", TRACKING_HOST,
                     "--rate-limit-requests", "100000", "--smtp", f"127.0.0.1:{self.smtp_port}",
                     "--smtp-bulk", f"127.0.0.1:{self.bulk_port}", *extra]
        if sandbox_smtp:
            self.args += ["--sandbox-smtp", sandbox_smtp, "--sandbox-default-inbox", str(self.boot["inbox_id"])]
        self.start()
        self.domains = {}
        if domains:
            self.verify_domains(domains)

    def start(self):
        self.inst.start(*self.args)
        for port in (self.smtp_port, self.bulk_port):
            wait_listening("127.0.0.1", port)

    def restart(self, sig):
        self.inst.stop(sig)
        self.start()

    def close(self):
        process = self.inst.process
        if process is not None and process.poll() is not None:
            # The server died under the tests: say how (a signal number is negative), with its last words.
            self.inst.stderr.seek(0)
            sys.stderr.write(f"\npostroom exited early with status {process.returncode}:\n"
                             + self.inst.stderr.read()[-4000:] + "\n")
        self.inst.close()

    @property
    def public_url(self):
        return f"http://127.0.0.1:{self.inst.port}"

    def a(self, path, account=None):
        return f"/api/accounts/{account or self.account}{path}"

    def api(self, method, path, body=None, token=None, headers=None, raw=None):
        status, data, _ = self.inst.request(method, path, self.token if token is None else token, body, headers,
                                            raw_body=raw)
        return status, data

    def ok(self, method, path, body=None, token=None, status=200, headers=None):
        actual, data = self.api(method, path, body, token, headers)
        if actual != status:
            raise AssertionError(f"{method} {path}: {actual} {data!r}")
        return data

    def verify_domains(self, names, token=None, account=None):
        """Adds the domains, publishes their records in dnsmasq (one restart) and verifies them."""
        created = [self.ok("POST", self.a("/sending_domains", account), {"sending_domain": {"domain_name": n}}, token)
                   for n in names]
        WORLD["dns"].publish(*created)
        for domain in created:
            verified = self.ok("POST", self.a(f"/sending_domains/{domain['id']}/verify", account), token=token)
            if verified["compliance_status"] != "compliant":
                raise AssertionError(f"{domain['domain_name']} did not verify: {verified!r}")
            self.domains[domain["domain_name"]] = verified
        return created

    def send(self, message, token=None, bulk=None, status=200):
        """POST /api/send (bulk: "host" for Host: bulk.…, "path" for /bulk/api/send); returns the message ids."""
        headers = {"Host": "bulk.api.postroom.test"} if bulk == "host" else None
        path = "/bulk/api/send" if bulk == "path" else "/api/send"
        actual, data = self.api("POST", path, message, token, headers)
        if actual != status:
            raise AssertionError(f"POST {path}: {actual} {data!r}")
        return data["message_ids"] if status == 200 else data

    def log(self, message_id, token=None):
        return self.ok("GET", self.a(f"/email_logs/{message_id}"), token=token)

    def wait_log(self, message_id, done=lambda m: m["status"] != "enqueued", timeout=20):
        deadline = time.time() + timeout
        while True:
            message = self.log(message_id)
            if done(message):
                return message
            if time.time() > deadline:
                raise AssertionError(f"timed out after {timeout}s; last state: {message!r}")
            time.sleep(0.1)

    def logs(self, filters=(), search_after=None, token=None, account=None):
        """GET A/email_logs with filters given as (name, value) pairs in the SDKs' bracket syntax."""
        query = list(filters) + ([("search_after", search_after)] if search_after else [])
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return self.ok("GET", self.a("/email_logs", account) + suffix, token=token)

    def suppressions(self, email_address=None, token=None, account=None):
        suffix = "?" + urllib.parse.urlencode({"email": email_address}) if email_address else ""
        return self.ok("GET", self.a("/suppressions", account) + suffix, token=token)

    # SMTP submission

    def submission(self, token=None, port=None, mechanism=None, tls=True):
        client = smtplib.SMTP("127.0.0.1", port or self.smtp_port, timeout=15)
        client.ehlo("client.test")
        if tls:
            client.starttls(context=insecure_tls())
            client.ehlo("client.test")
        if token is not False:
            client.user, client.password = "api", token or self.token
            if mechanism == "LOGIN":
                code, text = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
            else:
                code, text = client.auth("PLAIN", client.auth_plain)
            if code != 235:
                raise AssertionError(f"AUTH {mechanism}: {code} {text!r}")
        return client


def text_message(subject, sender, to, cc=None, headers=None, text="Hello from the live sending tests.\r\n"):
    lines = [f"From: {sender}", f"To: {to}"] + ([f"Cc: {cc}"] if cc else []) + [
        f"Subject: {subject}", f"Date: {email.utils.formatdate()}",
        f"Message-ID: <{uuid.uuid4().hex}@client.test>"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + text).encode()


def smtp_data(client, mail_from, rcpts, data):
    """One transaction; returns the final reply (code, text) of whichever command refused it, or of DATA."""
    code, text = client.mail(mail_from)
    if code != 250:
        return code, text
    for rcpt in rcpts:
        code, text = client.rcpt(rcpt)
        if code != 250:
            return code, text
    try:
        return client.data(data)
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error


QUEUED = re.compile(rb"^2\.0\.0 Ok: queued as ([0-9a-f-]{36})$")


def queued_uuid(reply):
    code, text = reply
    match = QUEUED.match(text)
    if code != 250 or not match:
        raise AssertionError(f"not queued: {code} {text!r}")
    return match.group(1).decode()


class LiveTestCase(unittest.TestCase):
    srv = None

    def tag(self):
        return uuid.uuid4().hex[:8]

    def assert_signed_and_clean(self, delivered, stored=None):
        """The delivered bytes are the stored bytes behind DKIM-Signature headers that dkimpy verifies; no Bcc or
        X-MT-* header went out."""
        names = header_names(delivered)
        self.assertEqual(names[0], "dkim-signature", names)
        self.assertNotIn("bcc", names)
        self.assertEqual([n for n in names if n.startswith("x-mt-")], [])
        results = dkim_results(WORLD["dns"].port, delivered)[0]
        self.assertTrue(results and all(results), f"DKIM results {results}")
        if stored is not None:
            self.assertTrue(delivered.endswith(stored), "the delivered message is the stored one, signed")
            prefix = delivered[:len(delivered) - len(stored)]
            self.assertEqual(set(header_names(prefix + b"\r\n")), {"dkim-signature"})
        return results

    def raw_of(self, message):
        """GET of the message's signed raw_message_url (no token)."""
        url = urllib.parse.urlsplit(message["raw_message_url"])
        self.assertEqual(f"{url.scheme}://{url.netloc}", self.srv.public_url)
        status, data, headers = self.srv.inst.request("GET", f"{url.path}?{url.query}")
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["content-type"], "message/rfc822")
        return data

    def events(self, message):
        return [e["event_type"] for e in message["events"]]


# ---- the main installation


class LiveSending(LiveTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Postroom("--retry-schedule", "1,1,1", "--smtp-connections-per-ip", "50",
                           "--require-tls-domains", f"tls.{ZONE},tlsself.{ZONE}", sandbox_smtp=f"{SANDBOX_ADDR}:25")
        srv = cls.srv
        # A second tenant: a sub-account of the organization with an admin token of its own.
        other = srv.ok("POST", f"/api/organizations/{srv.boot['organization_id']}/sub_accounts",
                       {"account": {"name": "Tenant B"}})
        cls.b_account = other["id"]
        cls.b_token = srv.ok("POST", srv.a("/api_tokens", other["id"]), {
            "name": "B admin", "resources": [{"resource_type": "account", "resource_id": other["id"],
                                              "access_level": 100}]})["token"]
        # Ours: send. (verified), bcc. (verified, Auto BCC), unverified. (never published); B's: tenantb.
        created = [srv.ok("POST", srv.a("/sending_domains"), {"sending_domain": {"domain_name": n}})
                   for n in (f"send.{ZONE}", f"bcc.{ZONE}")]
        b_domain = srv.ok("POST", srv.a("/sending_domains", cls.b_account),
                          {"sending_domain": {"domain_name": f"tenantb.{ZONE}"}}, cls.b_token)
        cls.unverified = srv.ok("POST", srv.a("/sending_domains"),
                                {"sending_domain": {"domain_name": f"unverified.{ZONE}"}})
        WORLD["dns"].publish(*created, b_domain)
        for domain in created:
            srv.domains[domain["domain_name"]] = srv.ok("POST", srv.a(f"/sending_domains/{domain['id']}/verify"))
        cls.b_domain = srv.ok("POST", srv.a(f"/sending_domains/{b_domain['id']}/verify", cls.b_account),
                              token=cls.b_token)
        for domain in list(srv.domains.values()) + [cls.b_domain]:
            assert domain["compliance_status"] == "compliant", domain
        cls.domain = srv.domains[f"send.{ZONE}"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def message(self, subject, to, **fields):
        body = {"from": {"email": f"sender@send.{ZONE}", "name": "Live Sender"}, "to": to, "subject": subject,
                "text": "Hello from the live sending tests.\n"}
        body.update(fields)
        return body

    # -- delivery, bytes, DKIM, one message per recipient

    def test_api_send_one_message_per_recipient_delivered_signed(self):
        tag = self.tag()
        to = [{"email": f"To1-{tag}@sink.{ZONE}", "name": "First"}, {"email": f"to2-{tag}@sink.{ZONE}"}]
        cc = [{"email": f"cc-{tag}@sink.{ZONE}"}]
        bcc = [{"email": f"bcc-{tag}@sink.{ZONE}"}]
        text = "Plain body.\n.a line starting with a dot\nÜmlaut line\n"
        ids = self.srv.send(self.message(f"Per recipient {tag}", to, cc=cc, bcc=bcc, text=text,
                                         html="<p>Hello <b>html</b></p>", category="Welcome",
                                         custom_variables={"user_id": "45982", "batch": "b1"}))
        recipients = [f"to1-{tag}@sink.{ZONE}", f"to2-{tag}@sink.{ZONE}", f"cc-{tag}@sink.{ZONE}",
                      f"bcc-{tag}@sink.{ZONE}"]
        self.assertEqual(len(ids), 4)
        self.assertEqual(len(set(ids)), 4)
        for message_id in ids:
            self.assertRegex(message_id, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        logs = [self.srv.wait_log(i) for i in ids]
        self.assertEqual([m["to"] for m in logs], recipients, "one log per recipient, in to, cc, bcc order")
        for message, message_id in zip(logs, ids):
            self.assertEqual(message["message_id"], message_id)
            self.assertEqual(message["status"], "delivered", message)
            self.assertEqual(self.events(message), ["delivery"])
            details = message["events"][0]["details"]
            self.assertEqual(details["recipient_mx"], f"mx-sink.{ZONE}")
            self.assertEqual(message["from"], f"sender@send.{ZONE}")
            self.assertEqual(message["subject"], f"Per recipient {tag}")
            self.assertEqual(message["category"], "Welcome")
            self.assertEqual(message["custom_variables"], {"user_id": "45982", "batch": "b1"})
            self.assertEqual(message["sending_stream"], "transactional")
            self.assertEqual(message["sending_domain_id"], self.domain["id"])
            self.assertEqual(message["client_ip"], "127.0.0.1")
            self.assertRegex(message["sent_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
            self.assertRegex(message["rfc_message_id"], rf"^<.+@send\.{re.escape(ZONE)}>$")
        self.assertEqual(len({m["rfc_message_id"] for m in logs}), 1, "the copies are one message")
        listed = self.srv.logs([("filters[subject][operator]", "ci_contain"), ("filters[subject][value]", tag)])
        self.assertEqual(listed["total_count"], 4)
        self.assertEqual([m["message_id"] for m in listed["messages"]], ids[::-1], "newest first")

        for rcpt, message in zip(recipients, logs):
            [delivered] = WORLD["sink"].to(rcpt)
            self.assertEqual(delivered["rcpts"], [rcpt], "one envelope recipient per copy")
            self.assertRegex(delivered["mail_from"], rf"^b-{message['message_id']}@bounces\.send\.{re.escape(ZONE)}$")
            stored = self.raw_of(message)
            self.assert_signed_and_clean(delivered["data"], stored)
            parsed = parse_mime(delivered["data"])
            self.assertEqual(parsed["Subject"], f"Per recipient {tag}")
            self.assertIn(f"To1-{tag}@sink.{ZONE}", parsed["To"])
            self.assertIn(f"cc-{tag}@sink.{ZONE}", parsed["Cc"])
            self.assertNotIn(f"bcc-{tag}".encode(), header_block(delivered["data"]), "Bcc is in no header")
            self.assertEqual(parsed.get_body(("plain",)).get_content().replace("\r\n", "\n"), text)
            self.assertIn("<b>html</b>", parsed.get_body(("html",)).get_content())
            self.assertNotIn(b"45982", delivered["data"], "custom variables are not delivered")
            self.assertIn("Feedback-ID", parsed)
            self.assertIn("CFBL-Address", parsed)

    def test_tampered_delivered_bytes_fail_dkim(self):
        tag = self.tag()
        [message_id] = self.srv.send(self.message(f"Tamper {tag}", [{"email": f"tamper-{tag}@sink.{ZONE}"}]))
        self.assertEqual(self.srv.wait_log(message_id)["status"], "delivered")
        [delivered] = WORLD["sink"].to(f"tamper-{tag}@sink.{ZONE}")
        data = delivered["data"]
        changed_subject = data.replace(f"Tamper {tag}".encode(), f"Tamper {tag}!".encode())
        changed_body = data.replace(b"Hello from the live", b"Hello from the dead")
        self.assertNotEqual(changed_body, data)
        results = dkim_results(WORLD["dns"].port, data, changed_subject, changed_body)
        self.assertTrue(all(results[0]))
        self.assertFalse(any(results[1]))
        self.assertFalse(any(results[2]))

    def test_raw_message_url_is_signed(self):
        tag = self.tag()
        [message_id] = self.srv.send(self.message(f"Raw {tag}", [{"email": f"raw-{tag}@sink.{ZONE}"}]))
        message = self.srv.wait_log(message_id)
        raw = self.raw_of(message)
        self.assertIn(f"Subject: Raw {tag}".encode(), raw)
        self.assertNotIn(b"DKIM-Signature", raw, "the stored bytes are unsigned")
        url = urllib.parse.urlsplit(message["raw_message_url"])
        query = dict(urllib.parse.parse_qsl(url.query))
        self.assertRegex(query["signature"], r"^[0-9a-f]{16,}$")
        self.assertGreater(int(query["expires"]), time.time())
        flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
        for tampered in ({**query, "signature": flipped}, {**query, "expires": str(int(query["expires"]) + 1)},
                         {"expires": query["expires"]}):
            status, _, _ = self.srv.inst.request("GET", f"{url.path}?{urllib.parse.urlencode(tampered)}")
            self.assertEqual(status, 403, tampered)
        # Another message's id with this signature is refused too.
        [other] = self.srv.send(self.message(f"Raw other {tag}", [{"email": f"raw2-{tag}@sink.{ZONE}"}]))
        status, _, _ = self.srv.inst.request("GET", f"/api/email_logs/raw/{other}?{url.query}")
        self.assertEqual(status, 403)
        # An expired link, even correctly shaped.
        status, _, _ = self.srv.inst.request("GET", f"{url.path}?expires=1&signature={query['signature']}")
        self.assertEqual(status, 403)

    def test_log_bodies_for_the_ui_preview(self):
        tag = self.tag()
        html = "<p style='color:red'>Hi <b>there</b></p><script>alert(1)</script>"
        [with_html] = self.srv.send(self.message(f"Bodies {tag}", [{"email": f"bodies-{tag}@sink.{ZONE}"}], html=html))
        [text_only] = self.srv.send(self.message(f"Text {tag}", [{"email": f"text-{tag}@sink.{ZONE}"}]))
        self.srv.wait_log(with_html)
        status, body, headers = self.srv.inst.request("GET", self.srv.a(f"/email_logs/{with_html}/body.html"),
                                                      self.srv.token)
        self.assertEqual((status, body), (200, html.encode()))
        self.assertTrue(headers["content-security-policy"].startswith("sandbox;"), headers)
        status, body, headers = self.srv.inst.request("GET", self.srv.a(f"/email_logs/{with_html}/body.txt"),
                                                      self.srv.token)
        self.assertEqual((status, body), (200, b"Hello from the live sending tests.\r\n"))
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        status, body = self.srv.api("GET", self.srv.a(f"/email_logs/{text_only}/body.html"))
        self.assertEqual((status, body), (409, {"error": "This message has no such part"}))
        # Another account sees nothing.
        other = self.srv.ok("POST", f"/api/organizations/{self.srv.boot['organization_id']}/sub_accounts",
                            {"account": {"name": f"Bodies {tag}"}})
        status, _ = self.srv.api("GET", self.srv.a(f"/email_logs/{with_html}/body.html", account=other["id"]))
        self.assertEqual(status, 404)

    def test_a_record_fallback_when_there_is_no_mx(self):
        tag = self.tag()
        rcpt = f"fallback-{tag}@afallback.{ZONE}"
        [message_id] = self.srv.send(self.message(f"Fallback {tag}", [{"email": rcpt}]))
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "delivered", message)
        self.assertEqual(message["events"][0]["details"]["recipient_mx"], f"afallback.{ZONE}")
        [delivered] = WORLD["sink"].to(rcpt)
        self.assert_signed_and_clean(delivered["data"])

    def test_mx_preference_and_fallback_to_the_next_mx(self):
        tag = self.tag()
        preferred, backup = f"pref-{tag}@prefer.{ZONE}", f"backup-{tag}@backup.{ZONE}"
        ids = self.srv.send(self.message(f"MX order {tag}", [{"email": preferred}, {"email": backup}]))
        first, second = (self.srv.wait_log(i) for i in ids)
        self.assertEqual((first["status"], first["events"][0]["details"]["recipient_mx"]),
                         ("delivered", f"mx-sandbox.{ZONE}"), first)
        self.assertEqual(WORLD["sink"].to(preferred, timeout=0.2), [])
        # The preferred MX of backup. refuses connections: the next one takes the message in the same attempt.
        self.assertEqual(self.events(second), ["delivery"], second)
        self.assertEqual(second["events"][0]["details"]["recipient_mx"], f"mx-sink.{ZONE}")
        self.assertEqual(len(WORLD["sink"].to(backup)), 1)

    def test_delivery_into_postroom_sandbox_over_starttls(self):
        tag = self.tag()
        [message_id] = self.srv.send(self.message(f"Into the sandbox {tag}", [{"email": f"inbox-{tag}@sandbox.{ZONE}"}]))
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "delivered", message)
        self.assertEqual(message["events"][0]["details"]["recipient_mx"], f"mx-sandbox.{ZONE}")
        captured = self.srv.ok("GET", self.srv.a(f"/inboxes/{self.srv.boot['inbox_id']}/messages?search={tag}"))
        self.assertEqual([m["subject"] for m in captured], [f"Into the sandbox {tag}"])
        self.assertEqual(captured[0]["to_email"], f"inbox-{tag}@sandbox.{ZONE}")

    # -- bounces, retries, suppression

    def test_soft_bounce_greylisted_then_delivered(self):
        tag = self.tag()
        rcpt = f"grey-{tag}@grey.{ZONE}"
        [message_id] = self.srv.send(self.message(f"Grey {tag}", [{"email": rcpt}]))
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "delivered", message)
        self.assertEqual(self.events(message), ["soft_bounce", "delivery"])
        soft = message["events"][0]["details"]
        self.assertEqual(soft["bounce_category"], "greylisting")
        self.assertEqual(soft["email_service_provider_status"], "4.7.1")
        self.assertIn("451 4.7.1 Greylisted", soft["email_service_provider_response"])
        self.assertEqual(soft["recipient_mx"], f"mx-grey.{ZONE}")
        [data] = WORLD["grey"].messages_to(rcpt)
        self.assertIn(f"Subject: Grey {tag}".encode(), data)
        self.assertEqual(self.srv.suppressions(rcpt), [], "a soft bounce suppresses nothing")

    def test_soft_bounces_until_retries_run_out_then_bounce(self):
        # The sandbox's bounce emulator answers 452 4.2.2 every time: 1 attempt + 3 retries ("1,1,1"), then a bounce.
        tag = self.tag()
        rcpt = f"bounce+452+4.2.2+mailbox+full+{tag}@sandbox.{ZONE}"
        [message_id] = self.srv.send(self.message(f"Full {tag}", [{"email": rcpt}], category="Quota"))
        message = self.srv.wait_log(message_id, timeout=30)
        self.assertEqual(message["status"], "not_delivered", message)
        self.assertEqual(self.events(message), ["soft_bounce"] * 3 + ["bounce"])
        for event in message["events"]:
            self.assertEqual(event["details"]["bounce_category"], "overquota")
            self.assertEqual(event["details"]["email_service_provider_status"], "4.2.2")
            self.assertIn(f"mailbox full {tag}", event["details"]["email_service_provider_response"])
        times = [e["created_at"] for e in message["events"]]
        self.assertEqual(times, sorted(times))
        # Over quota is a suppressing category: the final bounce suppresses the address.
        [entry] = self.srv.suppressions(rcpt)
        self.assertEqual((entry["type"], entry["message_bounce_category"], entry["sending_stream"]),
                         ("hard bounce", "overquota", "transactional"))

    def test_hard_bounce_suppresses_and_later_sends_are_rejected(self):
        tag = self.tag()
        rcpt = f"bounce+550+5.1.1+no+such+user+{tag}@sandbox.{ZONE}"
        [message_id] = self.srv.send(self.message(f"Bad rcpt {tag}", [{"email": rcpt}], category="Onboarding"))
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "not_delivered", message)
        self.assertEqual(self.events(message), ["bounce"])
        details = message["events"][0]["details"]
        self.assertEqual(details["bounce_category"], "badrecipient")
        self.assertEqual(details["email_service_provider_status"], "5.1.1")
        self.assertIn(f"550 5.1.1 no such user {tag}", details["email_service_provider_response"])
        self.assertEqual(details["recipient_mx"], f"mx-sandbox.{ZONE}")

        [entry] = self.srv.suppressions(rcpt)
        self.assertEqual(entry["type"], "hard bounce")
        self.assertEqual(entry["email"], rcpt)
        self.assertEqual(entry["sending_stream"], "transactional")
        self.assertEqual(entry["domain_name"], f"send.{ZONE}")
        self.assertEqual(entry["message_bounce_category"], "badrecipient")
        self.assertEqual(entry["message_category"], "Onboarding")
        self.assertEqual(entry["message_subject"], f"Bad rcpt {tag}")
        self.assertEqual(entry["message_sender_email"], f"sender@send.{ZONE}")
        self.assertEqual(entry["message_recipient_mx_name"], f"mx-sandbox.{ZONE}")
        self.assertIn("5.1.1", entry["message_esp_response"])
        self.assertEqual(entry["message_client_ip"], "127.0.0.1")
        self.assertRegex(entry["message_created_at"], r"^\d{4}-")
        self.assertRegex(entry["id"], r"^[0-9a-f-]{36}$")
        # Case does not matter for the list's email search.
        self.assertEqual([e["id"] for e in self.srv.suppressions(rcpt.upper())], [entry["id"]])

        # A later send to that address is accepted, but rejected without a delivery attempt.
        [again] = self.srv.send(self.message(f"Bad rcpt again {tag}", [{"email": rcpt.upper()}]))
        later = self.srv.log(again)
        self.assertEqual(later["status"], "not_delivered", later)
        self.assertEqual(self.events(later), ["reject"])
        self.assertIn("suppression list", later["events"][0]["details"]["reject_reason"])
        listed = self.srv.logs([("filters[events][operator]", "include_event"), ("filters[events][value]", "reject"),
                                ("filters[to][operator]", "ci_equal"), ("filters[to][value]", rcpt)])
        self.assertEqual([m["message_id"] for m in listed["messages"]], [again])
        # The suppression is of the transactional stream: bulk mail still goes out (and bounces again).
        [bulk] = self.srv.send(self.message(f"Bad rcpt bulk {tag}", [{"email": rcpt}]), bulk="host")
        self.assertEqual(self.events(self.srv.wait_log(bulk)), ["bounce"])

    def test_null_mx_and_nxdomain_bounce_as_dns_failures(self):
        tag = self.tag()
        cases = {f"null-{tag}@nullmx.{ZONE}": "null MX", f"nx-{tag}@nothere.{ZONE}": "NXDOMAIN"}
        for rcpt, reason in cases.items():
            with self.subTest(rcpt=rcpt):
                [message_id] = self.srv.send(self.message(f"DNS {tag}", [{"email": rcpt}]))
                message = self.srv.wait_log(message_id)
                self.assertEqual(message["status"], "not_delivered", message)
                self.assertEqual(self.events(message), ["bounce"])
                details = message["events"][0]["details"]
                self.assertEqual(details["bounce_category"], "dnsFail")
                self.assertIn(reason, details["email_service_provider_response"])
                self.assertIsNone(details["recipient_mx"])
                self.assertEqual(self.srv.suppressions(rcpt), [], "dnsFail does not suppress")
        listed = self.srv.logs([("filters[subject][operator]", "ci_equal"), ("filters[subject][value]", f"dns {tag}"),
                                ("filters[events][operator]", "include_event"), ("filters[events][value]", "bounce"),
                                ("filters[status][operator]", "equal"), ("filters[status][value]", "not_delivered")])
        self.assertEqual(sorted(m["to"] for m in listed["messages"]), sorted(cases))

    def test_require_tls_domains_are_never_sent_in_the_clear(self):
        tag = self.tag()
        recipients = [f"tls-{tag}@tls.{ZONE}", f"self-{tag}@tlsself.{ZONE}"]
        ids = self.srv.send(self.message(f"TLS {tag}", [{"email": r} for r in recipients]))
        for message_id, rcpt in zip(ids, recipients):
            message = self.srv.wait_log(message_id, timeout=30)
            self.assertEqual(message["status"], "not_delivered", message)
            self.assertEqual(self.events(message), ["soft_bounce"] * 3 + ["bounce"], message)
            for event in message["events"]:
                self.assertTrue(re.search(r"tls|certificate", event["details"]["email_service_provider_response"],
                                          re.I), event)
            self.assertEqual(self.srv.suppressions(rcpt), [])
        self.assertEqual(WORLD["sink"].to(recipients[0], timeout=0.2), [], "nothing in the clear")
        captured = self.srv.ok("GET", self.srv.a(f"/inboxes/{self.srv.boot['inbox_id']}/messages?search={tag}"))
        self.assertEqual(captured, [], "nothing to an unverified certificate")

    # -- email logs: filters and pagination

    def test_email_logs_filters_and_search_after(self):
        tag = self.tag()
        base = {"from": {"email": f"pages@send.{ZONE}"}, "text": "Pages"}
        requests = [{"to": [{"email": f"page{i}-{tag}@sink.{ZONE}"}], "subject": f"Page {tag} #{i}"}
                    for i in range(53)]
        requests.append({"to": [{"email": f"comma-{tag}@sink.{ZONE}"}], "subject": f"Page {tag}: Hello, World",
                         "category": f"Filters-{tag}"})
        response = self.srv.ok("POST", "/api/batch", {"base": base, "requests": requests})
        self.assertTrue(response["success"])
        self.assertTrue(all(r["success"] for r in response["responses"]), response)
        ids = [r["message_ids"][0] for r in response["responses"]]
        [bulk_id] = self.srv.send({**base, "to": [{"email": f"bulk-{tag}@sink.{ZONE}"}], "subject": f"Page {tag} bulk",
                                   "html": "<p>bulk</p>"}, bulk="path")
        ids.append(bulk_id)
        for message_id in ids:
            self.srv.wait_log(message_id)
        mine = [("filters[subject][operator]", "ci_contain"), ("filters[subject][value]", f"PAGE {tag}")]

        # search_after: pages of 50, newest first, the cursor is the last message id of a page.
        first = self.srv.logs(mine)
        self.assertEqual(first["total_count"], 55)
        self.assertEqual(len(first["messages"]), 50)
        self.assertEqual(first["next_page_cursor"], first["messages"][-1]["message_id"])
        second = self.srv.logs(mine, search_after=first["next_page_cursor"])
        self.assertEqual(second["total_count"], 55)
        self.assertEqual(len(second["messages"]), 5)
        self.assertIsNone(second["next_page_cursor"])
        self.assertEqual([m["message_id"] for m in first["messages"] + second["messages"]], ids[::-1])
        for m in first["messages"] + second["messages"]:
            self.assertEqual(m["status"], "delivered")
        self.assertEqual(self.srv.logs(mine, search_after=str(uuid.uuid4()))["messages"], [])

        def only(*filters):
            return [m["message_id"] for m in self.srv.logs(mine + list(filters))["messages"]]

        # A value with a comma is one value (not a list); ci_contain ignores case.
        comma = self.srv.logs([("filters[subject][operator]", "ci_contain"),
                               ("filters[subject][value]", f"{tag}: HELLO, world")])
        self.assertEqual([m["message_id"] for m in comma["messages"]], [ids[53]])
        self.assertEqual(only(("filters[to][operator]", "ci_equal"),
                              ("filters[to][value]", f"PAGE7-{tag.upper()}@SINK.LT.TEST")), [ids[7]])
        self.assertEqual(self.srv.logs(mine + [("filters[to][operator]", "ci_not_equal"),
                                               ("filters[to][value]", f"page7-{tag}@sink.{ZONE}")])["total_count"], 54)
        self.assertEqual(only(("filters[category][operator]", "equal"), ("filters[category][value][]", f"Filters-{tag}"),
                              ("filters[category][value][]", "Something else")), [ids[53]])
        self.assertEqual(only(("filters[sending_stream][operator]", "equal"),
                              ("filters[sending_stream][value]", "bulk")), [bulk_id])
        self.assertEqual(self.srv.logs(mine + [("filters[sending_stream][operator]", "equal"),
                                               ("filters[sending_stream][value]", "transactional")])["total_count"], 54)
        self.assertEqual(self.srv.logs(mine + [("filters[status][operator]", "equal"),
                                               ("filters[status][value]", "delivered")])["total_count"], 55)
        self.assertEqual(self.srv.logs(mine + [("filters[status][operator]", "equal"),
                                               ("filters[status][value]", "not_delivered")])["total_count"], 0)
        self.assertEqual(self.srv.logs(mine + [("filters[events][operator]", "include_event"),
                                               ("filters[events][value]", "delivery")])["total_count"], 55)
        self.assertEqual(self.srv.logs(mine + [("filters[events][operator]", "not_include_event"),
                                               ("filters[events][value][]", "delivery")])["total_count"], 0)
        now = time.time()
        self.assertEqual(self.srv.logs(mine + [("filters[sent_after]", iso(now + 3600))])["total_count"], 0)
        self.assertEqual(self.srv.logs(mine + [("filters[sent_before]", iso(now - 3600))])["total_count"], 0)
        self.assertEqual(self.srv.logs(mine + [("filters[sent_after]", iso(now - 3600)),
                                               ("filters[sent_before]", iso(now + 3600))])["total_count"], 55)
        # Bad filters are 400s.
        for bad in ([("filters[to][operator]", "regex"), ("filters[to][value]", "x")],
                    [("filters[nonsense][operator]", "equal"), ("filters[nonsense][value]", "x")],
                    [("filters[sent_after]", "yesterday")]):
            status, _ = self.srv.api("GET", self.srv.a("/email_logs") + "?" + urllib.parse.urlencode(bad))
            self.assertEqual(status, 400, bad)

    def test_custom_variables_category_and_template_fields_in_logs(self):
        tag = self.tag()
        [message_id] = self.srv.send(self.message(f"Vars {tag}", [{"email": f"vars-{tag}@sink.{ZONE}"}],
                                                  category="Password reset",
                                                  custom_variables={"user_id": "45982", "plan": "pro"}))
        listed = self.srv.logs([("filters[category][operator]", "equal"),
                                ("filters[category][value]", "Password reset"),
                                ("filters[subject][operator]", "ci_contain"), ("filters[subject][value]", tag)])
        [entry] = listed["messages"]
        self.assertEqual(entry["message_id"], message_id)
        self.assertEqual(entry["category"], "Password reset")
        self.assertEqual(entry["custom_variables"], {"user_id": "45982", "plan": "pro"})
        self.assertIsNone(entry["template_id"])
        self.assertIsNone(entry["template_variables"])
        self.assertEqual((entry["opens_count"], entry["clicks_count"]), (0, 0))
        self.assertEqual(sorted(entry), sorted(
            ["message_id", "status", "rfc_message_id", "in_reply_to", "references", "thread_id", "subject", "from",
             "to", "sent_at", "client_ip", "category", "custom_variables", "sending_stream", "sending_domain_id",
             "template_id", "template_variables", "opens_count", "clicks_count"]))
        detail = self.srv.wait_log(message_id)
        self.assertEqual(detail["custom_variables"], {"user_id": "45982", "plan": "pro"})
        self.assertEqual(set(detail) - set(entry), {"raw_message_url", "events"})
        [delivered] = WORLD["sink"].to(f"vars-{tag}@sink.{ZONE}")
        self.assertIn(b"Feedback-ID: Password reset:", delivered["data"])
        self.assertNotIn(b"45982", delivered["data"])

    # -- Auto BCC

    def test_auto_bcc_copies_carry_the_custom_header(self):
        tag = self.tag()
        domain = self.srv.domains[f"bcc.{ZONE}"]
        archive = f"archive-{tag}@sink.{ZONE}"
        status, patched = self.srv.api("PATCH", self.srv.a(f"/sending_domains/{domain['id']}"), {
            "sending_domain": {"auto_bcc": {"emails": [archive], "header_name": "X-Archive-Copy",
                                            "header_value": f"yes {tag}"}}})
        self.assertEqual(status, 200, patched)
        rcpt = f"customer-{tag}@sink.{ZONE}"
        ids = self.srv.send({"from": {"email": f"billing@bcc.{ZONE}"}, "to": [{"email": rcpt}],
                             "subject": f"Invoice {tag}", "text": "Your invoice."})
        self.assertEqual(len(ids), 1, "Auto BCC copies get no id in the response")
        self.assertEqual(self.srv.wait_log(ids[0])["status"], "delivered")
        [copy] = WORLD["sink"].to(archive)
        [original] = WORLD["sink"].to(rcpt)
        self.assertIn(f"X-Archive-Copy: yes {tag}".encode(), header_block(copy["data"]))
        self.assertNotIn(b"X-Archive-Copy", original["data"])
        self.assertNotIn(archive.encode(), header_block(copy["data"]), "the BCC address is in no header")
        self.assertNotIn(archive.encode(), original["data"])
        self.assert_signed_and_clean(copy["data"])
        self.assert_signed_and_clean(original["data"])
        self.assertEqual(parse_mime(copy["data"])["Subject"], f"Invoice {tag}")
        # The copy has its own log (it is mail this account sent).
        logs = self.srv.logs([("filters[to][operator]", "ci_equal"), ("filters[to][value]", archive)])
        self.assertEqual(logs["total_count"], 1)
        # The same over SMTP submission.
        client = self.srv.submission()
        try:
            smtp_id = queued_uuid(smtp_data(client, f"billing@bcc.{ZONE}", [f"smtp-{rcpt}"],
                                             text_message(f"Invoice SMTP {tag}", f"billing@bcc.{ZONE}",
                                                          f"smtp-{rcpt}")))
        finally:
            client.quit()
        self.assertEqual(self.srv.wait_log(smtp_id)["status"], "delivered")
        copies = WORLD["sink"].to(archive, count=2)
        self.assertEqual(len(copies), 2)
        self.assertTrue(all(f"X-Archive-Copy: yes {tag}".encode() in c["data"] for c in copies))

    # -- the bulk stream and unsubscribing

    def test_bulk_stream_headers_footer_and_one_click_unsubscribe(self):
        tag = self.tag()
        rcpt = f"reader-{tag}@sink.{ZONE}"
        [message_id] = self.srv.send(self.message(f"Newsletter {tag}", [{"email": rcpt}],
                                                  html="<h1>News</h1><p>Read on.</p>", text="News. Read on.\n"),
                                     bulk="host")
        message = self.srv.wait_log(message_id)
        self.assertEqual((message["status"], message["sending_stream"]), ("delivered", "bulk"), message)
        [delivered] = WORLD["sink"].to(rcpt)
        self.assert_signed_and_clean(delivered["data"], self.raw_of(message))
        parsed = parse_mime(delivered["data"])
        url = f"{self.srv.public_url}/unsubscribe/{message_id}"
        self.assertEqual(parsed["List-Unsubscribe"], f"<mailto:unsubscribe+{message_id}@{BOUNCE_HOST}>, <{url}>")
        self.assertEqual(parsed["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        html = parsed.get_body(("html",)).get_content()
        self.assertIn("<h1>News</h1>", html)
        self.assertIn(f'href="{url}"', html, "the footer is added to HTML without an unsubscribe link")
        self.assertIn(url, parsed.get_body(("plain",)).get_content())
        self.assertIn(":bulk:", parsed["Feedback-ID"])
        # The DKIM signatures cover the list headers (RFC 8058 §4) and CFBL-Address (RFC 9477).
        for signature in parsed.get_all("DKIM-Signature"):
            signed = re.search(r"\bh=([^;]+)", re.sub(r"\s+", "", str(signature))).group(1).lower().split(":")
            self.assertTrue({"list-unsubscribe", "list-unsubscribe-post", "cfbl-address", "from"} <= set(signed),
                            signed)

        # The page, then RFC 8058 one-click.
        status, page, headers = self.srv.inst.request("GET", f"/unsubscribe/{message_id}")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(rcpt.encode(), page)
        self.assertIn(b'<form method="post"', page)
        status, page, _ = self.srv.inst.request("POST", f"/unsubscribe/{message_id}",
                                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                                raw_body=b"List-Unsubscribe=One-Click")
        self.assertEqual(status, 200, page)
        self.assertIn(b"You are unsubscribed", page)
        after = self.srv.log(message_id)
        self.assertEqual(after["status"], "opted_out")
        self.assertEqual(self.events(after), ["delivery", "unsubscribe"])
        self.assertEqual(after["events"][1]["details"]["web_ip_address"], "127.0.0.1")
        [entry] = self.srv.suppressions(rcpt)
        self.assertEqual((entry["type"], entry["sending_stream"], entry["domain_name"], entry["message_subject"]),
                         ("unsubscription", "bulk", f"send.{ZONE}", f"Newsletter {tag}"))
        # Again: idempotent.
        status, _, _ = self.srv.inst.request("POST", f"/unsubscribe/{message_id}", raw_body=b"")
        self.assertEqual(status, 200)
        self.assertEqual(len(self.srv.suppressions(rcpt)), 1)
        self.assertEqual(self.events(self.srv.log(message_id)), ["delivery", "unsubscribe"])
        status, page, _ = self.srv.inst.request("GET", f"/unsubscribe/{message_id}")
        self.assertIn(b"You are unsubscribed", page)
        self.assertEqual(self.srv.logs([("filters[status][operator]", "equal"), ("filters[status][value]", "opted_out"),
                                        ("filters[to][operator]", "ci_equal"), ("filters[to][value]", rcpt)]
                                       )["total_count"], 1)
        # Unknown links.
        for bad in (str(uuid.uuid4()), "nope"):
            status, page, _ = self.srv.inst.request("GET", f"/unsubscribe/{bad}")
            self.assertEqual(status, 404)
            status, page, _ = self.srv.inst.request("POST", f"/unsubscribe/{bad}", raw_body=b"")
            self.assertEqual(status, 404)

        # Bulk mail to the address is now rejected; transactional mail still goes out.
        [bulk_again] = self.srv.send(self.message(f"Newsletter 2 {tag}", [{"email": rcpt}]), bulk="path")
        self.assertEqual(self.events(self.srv.log(bulk_again)), ["reject"])
        self.assertEqual(self.srv.log(bulk_again)["status"], "not_delivered")
        [transactional] = self.srv.send(self.message(f"Receipt {tag}", [{"email": rcpt}]))
        self.assertEqual(self.srv.wait_log(transactional)["status"], "delivered")

    def test_bulk_path_placeholder_is_replaced_without_footer(self):
        tag = self.tag()
        rcpt = f"placeholder-{tag}@sink.{ZONE}"
        html = '<p>Hi</p><a href="__unsubscribe_url__">Leave this list</a>'
        [message_id] = self.srv.send(self.message(f"Placeholder {tag}", [{"email": rcpt}], html=html,
                                                  text="Leave: __unsubscribe_url__\n"), bulk="path")
        self.assertEqual(self.srv.wait_log(message_id)["sending_stream"], "bulk")
        [delivered] = WORLD["sink"].to(rcpt)
        parsed = parse_mime(delivered["data"])
        url = f"{self.srv.public_url}/unsubscribe/{message_id}"
        html_out = parsed.get_body(("html",)).get_content()
        self.assertIn(f'<a href="{url}">Leave this list</a>', html_out)
        self.assertNotIn("__unsubscribe_url__", html_out)
        self.assertNotIn("If you no longer wish", html_out, "no footer when the HTML has its own link")
        self.assertIn(f"Leave: {url}", parsed.get_body(("plain",)).get_content())
        self.assertIn("List-Unsubscribe", parsed)
        # Transactional mail: the placeholder is replaced too, but no list headers and no footer.
        [plain_id] = self.srv.send(self.message(f"Placeholder tx {tag}", [{"email": f"tx-{rcpt}"}], html=html))
        self.srv.wait_log(plain_id)
        [tx] = WORLD["sink"].to(f"tx-{rcpt}")
        parsed = parse_mime(tx["data"])
        self.assertNotIn("List-Unsubscribe", parsed)
        self.assertIn(f"/unsubscribe/{plain_id}", parsed.get_body(("html",)).get_content())

    def test_batch_responses_and_bulk_batch(self):
        tag = self.tag()
        body = {"base": {"from": {"email": f"batch@send.{ZONE}"}, "subject": f"Batch {tag}", "text": "Batch text"},
                "requests": [{"to": [{"email": f"b1-{tag}@sink.{ZONE}"}, {"email": f"b2-{tag}@sink.{ZONE}"}]},
                             {"to": [{"email": f"b3-{tag}@sink.{ZONE}"}], "subject": f"Batch override {tag}"},
                             {"to": [{"email": f"b4-{tag}@sink.{ZONE}"}], "from": {"email": f"x@unverified.{ZONE}"}},
                             {"to": [{"email": "not-an-address"}]}]}
        status, response = self.srv.api("POST", "/api/batch", body)
        self.assertEqual(status, 200, response)
        self.assertTrue(response["success"])
        r = response["responses"]
        self.assertEqual([x["success"] for x in r], [True, True, False, False], r)
        self.assertEqual(len(r[0]["message_ids"]), 2)
        self.assertEqual(len(r[1]["message_ids"]), 1)
        self.assertIn("not allowed", " ".join(r[2]["errors"]))
        self.assertEqual(self.srv.wait_log(r[1]["message_ids"][0])["subject"], f"Batch override {tag}")
        for message_id in r[0]["message_ids"]:
            self.assertEqual(self.srv.wait_log(message_id)["status"], "delivered")
        # The bulk host's batch: bulk stream, list headers.
        status, bulk = self.srv.api("POST", "/api/batch", {"base": body["base"], "requests": body["requests"][:1]},
                                    headers={"Host": "bulk.api.postroom.test"})
        self.assertEqual(status, 200, bulk)
        for message_id in bulk["responses"][0]["message_ids"]:
            self.assertEqual(self.srv.wait_log(message_id)["sending_stream"], "bulk")
        self.assertEqual(len(WORLD["sink"].to(f"b1-{tag}@sink.{ZONE}", count=2)), 2)
        status, top = self.srv.api("POST", "/api/batch", {"base": body["base"]})
        self.assertEqual(status, 400, top)
        self.assertFalse(top["success"])

    # -- the sending policy

    def test_unverified_foreign_and_demo_domains_are_refused(self):
        tag = self.tag()
        to = [{"email": f"policy-{tag}@sink.{ZONE}"}]
        cases = [(f"me@unverified.{ZONE}", "unverified"), (f"me@tenantb.{ZONE}", "another account's"),
                 ("me@nowhere.example", "unknown"), (f"me@{DEMO}", "demo to a non-user")]
        for sender, why in cases:
            with self.subTest(why=why):
                status, data = self.srv.api("POST", "/api/send", {"from": {"email": sender}, "to": to,
                                                                  "subject": "x", "text": "x"})
                self.assertEqual(status, 403, data)
                self.assertEqual(data["success"], False)
                self.assertTrue(data["errors"] and all(isinstance(e, str) for e in data["errors"]), data)
        # Bulk as well.
        status, _ = self.srv.api("POST", "/bulk/api/send", {"from": {"email": f"me@unverified.{ZONE}"}, "to": to,
                                                            "subject": "x", "text": "x"})
        self.assertEqual(status, 403)
        # Nothing was stored.
        self.assertEqual(self.srv.logs([("filters[to][operator]", "ci_equal"),
                                        ("filters[to][value]", to[0]["email"])])["total_count"], 0)
        # B sends from its own verified domain; we cannot, and B cannot send from ours.
        [b_id] = self.srv.send({"from": {"email": f"b@tenantb.{ZONE}"}, "to": [{"email": f"b-{tag}@sink.{ZONE}"}],
                                "subject": f"Tenant B {tag}", "text": "B"}, token=self.b_token)
        status, data = self.srv.api("POST", "/api/send", {"from": {"email": f"b@send.{ZONE}"}, "to": to,
                                                          "subject": "x", "text": "x"}, token=self.b_token)
        self.assertEqual(status, 403, data)
        [delivered] = WORLD["sink"].to(f"b-{tag}@sink.{ZONE}")
        self.assert_signed_and_clean(delivered["data"])
        self.assertEqual(self.srv.ok("GET", self.srv.a(f"/email_logs/{b_id}", self.b_account),
                                     token=self.b_token)["status"], "delivered")
        # The demo domain sends to the account's own users only.
        admin = self.srv.boot["admin_email"]
        [demo_id] = self.srv.send({"from": {"email": f"hello@{DEMO}", "name": "Demo"},
                                   "to": [{"email": admin.upper()}], "subject": f"Demo {tag}", "text": "Demo"})
        self.assertEqual(self.srv.wait_log(demo_id)["status"], "delivered")
        self.assertTrue(any(f"Subject: Demo {tag}".encode() in m["data"] for m in WORLD["sink"].to(admin, 1)))
        status, data = self.srv.api("POST", "/api/send", {"from": {"email": f"hello@{DEMO}"},
                                                          "to": [{"email": admin}], "cc": to, "subject": "x",
                                                          "text": "x"})
        self.assertEqual(status, 403, data)

    def test_bad_requests_and_missing_token(self):
        status, data = self.srv.api("POST", "/api/send", {"from": {"email": f"a@send.{ZONE}"},
                                                          "to": [{"email": "x@sink.lt.test"}]})
        self.assertEqual(status, 400, data)
        self.assertEqual(data["success"], False)
        self.assertIn("'subject' is required", data["errors"])
        status, data = self.srv.api("POST", "/api/send", {"from": {"email": f"a@send.{ZONE}"},
                                                          "to": [{"email": "x@sink.lt.test"}], "subject": "s",
                                                          "text": "t"}, token="wrong-token")
        self.assertEqual(status, 401, data)

    # -- SMTP submission

    def test_smtp_submission_starttls_auth_and_header_handling(self):
        tag = self.tag()
        for mechanism in ("PLAIN", "LOGIN"):
            with self.subTest(mechanism=mechanism):
                rcpt, cc, hidden = (f"smtp-{mechanism}-{tag}@sink.{ZONE}", f"smtpcc-{mechanism}-{tag}@sink.{ZONE}",
                                    f"smtpbcc-{mechanism}-{tag}@sink.{ZONE}")
                data = text_message(f"SMTP {mechanism} {tag}", f"Sam <sam@send.{ZONE}>", rcpt, cc=cc, headers={
                    "Bcc": hidden, "X-MT-Category": "SMTP category",
                    "X-MT-Custom-Variables": '{"user_id": "77", "list": ["first", "second"]}',
                    "X-Other": "kept"}, text="Line one\r\n.dotted line\r\n")
                client = self.srv.submission(mechanism=mechanism)
                try:
                    self.assertEqual(client.esmtp_features.get("auth", "").split(), ["PLAIN", "LOGIN"])
                    first = queued_uuid(smtp_data(client, f"sam@send.{ZONE}", [rcpt, cc, hidden], data))
                finally:
                    client.quit()
                message = self.srv.wait_log(first)
                self.assertEqual(message["status"], "delivered", message)
                self.assertEqual(message["to"], rcpt.lower(), "the reply names the first recipient's message")
                self.assertEqual(message["category"], "SMTP category")
                self.assertEqual(message["custom_variables"], {"user_id": "77", "list": "first"})
                self.assertEqual(message["subject"], f"SMTP {mechanism} {tag}")
                self.assertEqual(message["sending_stream"], "transactional")
                for address in (rcpt, cc, hidden):
                    [delivered] = WORLD["sink"].to(address)
                    self.assert_signed_and_clean(delivered["data"])
                    block = header_block(delivered["data"])
                    self.assertNotIn(b"X-MT-", block)
                    self.assertNotIn(hidden.encode(), block)
                    self.assertIn(b"X-Other: kept", block)
                    self.assertIn(b"\r\n.dotted line\r\n", delivered["data"])
                logs = self.srv.logs([("filters[subject][operator]", "ci_equal"),
                                      ("filters[subject][value]", f"SMTP {mechanism} {tag}")])
                self.assertEqual(sorted(m["to"] for m in logs["messages"]),
                                 sorted(a.lower() for a in (rcpt, cc, hidden)))

    def test_smtp_encoded_word_x_mt_headers_are_decoded(self):
        # What nodemailer writes for any JSON value (it has double quotes), and any MUA for a non-ASCII category
        # (RFC 2047): the header's text is the decoded one.
        tag = self.tag()
        rcpt = f"encoded-{tag}@sink.{ZONE}"
        data = text_message(f"Encoded {tag}", f"sam@send.{ZONE}", rcpt, headers={
            "X-MT-Category": "=?UTF-8?Q?Caf=C3=A9_news?=",
            "X-MT-Custom-Variables": "=?UTF-8?Q?=7B=22user=5Fid=22=3A_=2245982=22=7D?="})
        client = self.srv.submission()
        try:
            message_id = queued_uuid(smtp_data(client, f"sam@send.{ZONE}", [rcpt], data))
        finally:
            client.quit()
        message = self.srv.wait_log(message_id)
        [delivered] = WORLD["sink"].to(rcpt)
        self.assertNotIn(b"X-MT-", header_block(delivered["data"]))
        self.assertEqual(message["custom_variables"], {"user_id": "45982"})
        self.assertEqual(message["category"], "Café news")

    def test_smtp_submission_adds_a_missing_date_and_message_id(self):
        # RFC 5322 §3.6: Date is required; RFC 6409 §8.2/§8.3: the submission server adds Date and Message-ID when
        # the client left them out (and large mailbox providers refuse mail without a Message-ID).
        tag = self.tag()
        rcpt = f"nomsgid-{tag}@sink.{ZONE}"
        data = (f"From: sam@send.{ZONE}\r\nTo: {rcpt}\r\nSubject: No Message-ID {tag}\r\n\r\nBody\r\n").encode()
        client = self.srv.submission()
        try:
            message_id = queued_uuid(smtp_data(client, f"sam@send.{ZONE}", [rcpt], data))
        finally:
            client.quit()
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "delivered")
        [delivered] = WORLD["sink"].to(rcpt)
        self.assert_signed_and_clean(delivered["data"])
        names = header_names(delivered["data"])
        self.assertIn("date", names)
        self.assertIn("message-id", names)
        self.assertRegex(message["rfc_message_id"] or "", r"^<[^<>@]+@[^<>]+>$")

    def test_smtputf8_recipient_delivered_where_the_extension_is_offered(self):
        tag = self.tag()
        rcpt = f"ünï-{tag}@sandbox.{ZONE}"  # Postroom's sandbox listener offers SMTPUTF8
        [message_id] = self.srv.send(self.message(f"UTF-8 ok {tag}", [{"email": rcpt}]))
        message = self.srv.wait_log(message_id)
        self.assertEqual((message["status"], message["to"]), ("delivered", rcpt), message)
        captured = self.srv.ok("GET", self.srv.a(f"/inboxes/{self.srv.boot['inbox_id']}/messages?search={tag}"))
        self.assertEqual([m["to_email"] for m in captured], [rcpt])

    def test_smtputf8_recipient_without_the_extension_bounces_at_once(self):
        tag = self.tag()
        # smtp-sink does not offer SMTPUTF8: the message cannot be sent there, ever (RFC 6531 §3.2: return it to
        # the sender), so it bounces at once instead of being retried on the schedule.
        rcpt = f"ünï-{tag}@sink.{ZONE}"
        [message_id] = self.srv.send(self.message(f"UTF-8 {tag}", [{"email": rcpt}]))
        message = self.srv.wait_log(message_id, timeout=30)
        self.assertEqual(message["status"], "not_delivered", message)
        self.assertEqual(WORLD["sink"].to(rcpt, timeout=0.2), [])
        self.assertIn("SMTPUTF8", message["events"][-1]["details"]["email_service_provider_response"])
        self.assertEqual(self.events(message), ["bounce"], "a missing SMTPUTF8 extension is permanent")

    def test_smtp_bulk_listener_is_the_bulk_stream(self):
        tag = self.tag()
        rcpt = f"smtpbulk-{tag}@sink.{ZONE}"
        client = self.srv.submission(port=self.srv.bulk_port)
        try:
            message_id = queued_uuid(smtp_data(client, f"news@send.{ZONE}", [rcpt],
                                               text_message(f"SMTP bulk {tag}", f"news@send.{ZONE}", rcpt)))
        finally:
            client.quit()
        self.assertEqual(self.srv.wait_log(message_id)["sending_stream"], "bulk")
        [delivered] = WORLD["sink"].to(rcpt)
        parsed = parse_mime(delivered["data"])
        self.assertEqual(parsed["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        self.assertIn(f"/unsubscribe/{message_id}>", parsed["List-Unsubscribe"])

    def test_swaks_submission(self):
        tag = self.tag()
        rcpt = f"swaks-{tag}@sink.{ZONE}"
        out = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port", str(self.srv.smtp_port), "--tls",
                              "--auth", "LOGIN", "--auth-user", "api", "--auth-password", self.srv.token,
                              "--from", f"swaks@send.{ZONE}", "--to", rcpt, "--header", f"Subject: swaks {tag}",
                              "--header", "X-MT-Category: swaks", "--body", "Sent by swaks"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        match = re.search(r"<~  250 2\.0\.0 Ok: queued as ([0-9a-f-]{36})", out.stdout)
        self.assertTrue(match, out.stdout)
        message = self.srv.wait_log(match.group(1))
        self.assertEqual((message["status"], message["category"], message["subject"]),
                         ("delivered", "swaks", f"swaks {tag}"))
        [delivered] = WORLD["sink"].to(rcpt)
        self.assert_signed_and_clean(delivered["data"])
        # A wrong password: swaks reports the 535.
        out = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port", str(self.srv.smtp_port), "--tls",
                              "--auth", "PLAIN", "--auth-user", "api", "--auth-password", "not-a-token",
                              "--from", f"swaks@send.{ZONE}", "--to", rcpt], capture_output=True, text=True,
                             timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("535 5.7.0", out.stdout)

    def test_smtp_refusals(self):
        tag = self.tag()
        rcpt = f"refused-{tag}@sink.{ZONE}"
        # Wrong token, wrong user name.
        for user, password in (("api", "0" * 64), ("someone", self.srv.token)):
            client = self.srv.submission(token=False)
            try:
                with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                    client.login(user, password)
                self.assertEqual(caught.exception.smtp_code, 535)
                self.assertIn(b"5.7.0", caught.exception.smtp_error)
            finally:
                client.close()
        # AUTH before STARTTLS: not offered, refused.
        client = self.srv.submission(token=False, tls=False)
        try:
            self.assertNotIn("auth", client.esmtp_features)
            self.assertIn("starttls", client.esmtp_features)
            plain = base64.b64encode(f"\0api\0{self.srv.token}".encode()).decode()
            code, text = client.docmd("AUTH", f"PLAIN {plain}")
            self.assertEqual(code, 538, text)
            self.assertIn(b"5.7.11", text)
            code, text = client.mail(f"sam@send.{ZONE}")
            self.assertEqual(code, 530, text)
        finally:
            client.close()
        # MAIL without AUTH after STARTTLS.
        client = self.srv.submission(token=False)
        try:
            code, text = client.mail(f"sam@send.{ZONE}")
            self.assertEqual(code, 530, text)
        finally:
            client.close()
        client = self.srv.submission()
        try:
            # Envelope domain not allowed (unverified, foreign, unknown, demo): refused at MAIL.
            for sender in (f"sam@unverified.{ZONE}", f"sam@tenantb.{ZONE}", "sam@nowhere.example"):
                code, text = client.mail(sender)
                self.assertEqual((code, text), (550, b"5.7.1 Sending from domain is not allowed"), sender)
                client.rset()
            # Header From of another domain than the envelope's: refused after DATA.
            reply = smtp_data(client, f"sam@send.{ZONE}", [rcpt],
                              text_message(f"Mismatch {tag}", f"sam@tenantb.{ZONE}", rcpt))
            self.assertEqual(reply, (550, b"5.7.1 From: Header does not match the sender's domain"))
            # The demo domain to a non-user.
            reply = smtp_data(client, f"hello@{DEMO}", [rcpt], text_message(f"Demo {tag}", f"hello@{DEMO}", rcpt))
            self.assertEqual(reply[0], 550, reply)
            self.assertIn(b"5.7.1", reply[1])
            # The session is still usable.
            good = queued_uuid(smtp_data(client, f"sam@send.{ZONE}", [rcpt],
                                         text_message(f"After refusals {tag}", f"sam@send.{ZONE}", rcpt)))
        finally:
            client.quit()
        self.assertEqual(self.srv.wait_log(good)["status"], "delivered")
        logs = self.srv.logs([("filters[to][operator]", "ci_equal"), ("filters[to][value]", rcpt)])
        self.assertEqual([m["message_id"] for m in logs["messages"]], [good], "refused mail left no log")
        # Tenant B's token may not send from our domain over SMTP either.
        client = self.srv.submission(token=self.b_token)
        try:
            self.assertEqual(client.mail(f"sam@send.{ZONE}")[0], 550)
        finally:
            client.quit()

    def test_connections_per_account(self):
        clients = []
        try:
            for _ in range(10):
                clients.append(self.srv.submission())
            extra = self.srv.submission(token=False)
            clients.append(extra)
            extra.user, extra.password = "api", self.srv.token
            with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                extra.auth("PLAIN", extra.auth_plain)
            self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error),
                             (535, b"5.7.8 Too many connections per account"))
            # Another account is not limited by ours.
            clients.append(self.srv.submission(token=self.b_token))
            # A freed slot can be used again.
            clients.pop(0).quit()
            deadline = time.time() + 5
            while True:
                try:
                    code, text = extra.auth("PLAIN", extra.auth_plain)
                    break
                except smtplib.SMTPAuthenticationError as e:
                    code, text = e.smtp_code, e.smtp_error
                    if time.time() > deadline:
                        break
                    time.sleep(0.1)
            self.assertEqual(code, 235, text)
        finally:
            for client in clients:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()

    def test_hundred_messages_per_connection(self):
        tag = self.tag()
        rcpt = f"many-{tag}@sink.{ZONE}"
        # A manual suppression: the 100 messages are accepted and rejected without a delivery attempt.
        created = self.srv.ok("POST", self.srv.a("/suppressions"), {"email": rcpt.upper(), "sending_stream": "any"},
                              status=201)["data"]
        self.assertEqual((created["email"], created["type"], created["domain_name"]), (rcpt, "manual import", ""))
        client = self.srv.submission()
        ids = []
        try:
            data = text_message(f"Many {tag}", f"many@send.{ZONE}", rcpt)
            for _ in range(100):
                ids.append(queued_uuid(smtp_data(client, f"many@send.{ZONE}", [rcpt], data)))
            code, text = client.mail(f"many@send.{ZONE}")
            self.assertEqual(code, 421, text)
            self.assertIn(b"Too many messages per connection", text)
        finally:
            client.close()
        self.assertEqual(len(set(ids)), 100)
        logs = self.srv.logs([("filters[to][operator]", "ci_equal"), ("filters[to][value]", rcpt),
                              ("filters[events][operator]", "include_event"), ("filters[events][value]", "reject")])
        self.assertEqual(logs["total_count"], 100)
        # A new connection may send again.
        client = self.srv.submission()
        try:
            queued_uuid(smtp_data(client, f"many@send.{ZONE}", [rcpt], data))
        finally:
            client.quit()
        # Deleting the suppression lets mail through again.
        removed = self.srv.ok("DELETE", self.srv.a(f"/suppressions/{created['id']}"))
        self.assertEqual(removed["id"], created["id"])
        self.assertEqual(self.srv.suppressions(rcpt), [])
        status, _ = self.srv.api("DELETE", self.srv.a(f"/suppressions/{created['id']}"))
        self.assertEqual(status, 404)
        [message_id] = self.srv.send(self.message(f"Many after {tag}", [{"email": rcpt}]))
        self.assertEqual(self.srv.wait_log(message_id)["status"], "delivered")

    def test_suppressions_api(self):
        tag = self.tag()
        address = f"manual-{tag}@sink.{ZONE}"
        created = self.srv.ok("POST", self.srv.a("/suppressions"), {
            "email": address, "domain_id": self.domain["id"], "sending_stream": "transactional"}, status=201)["data"]
        self.assertEqual((created["email"], created["domain_name"], created["sending_stream"], created["type"]),
                         (address, f"send.{ZONE}", "transactional", "manual import"))
        self.assertEqual([s["id"] for s in self.srv.suppressions(address)], [created["id"]])
        # Domain-scoped: another domain of ours still sends to the address.
        [other] = self.srv.send({"from": {"email": f"x@bcc.{ZONE}"}, "to": [{"email": address}], "subject": "x",
                                 "text": "x"})
        self.assertNotEqual(self.srv.log(other)["status"], "not_delivered")
        [blocked] = self.srv.send(self.message(f"Manual {tag}", [{"email": address}]))
        self.assertEqual(self.events(self.srv.log(blocked)), ["reject"])
        for bad, field in (({"email": "not-an-email"}, "email"), ({"email": ""}, "email"),
                           ({"email": address, "sending_stream": "sideways"}, "sending_stream"),
                           ({"email": address, "type": "whatever"}, "type"),
                           ({"email": address, "domain_id": self.b_domain["id"]}, "domain_id")):
            status, data = self.srv.api("POST", self.srv.a("/suppressions"), bad)
            self.assertEqual(status, 422, (bad, data))
            self.assertIn(field, data["errors"], data)
        # Time window filters.
        now = time.time()
        self.assertEqual(self.srv.ok("GET", self.srv.a("/suppressions") + "?" + urllib.parse.urlencode(
            {"email": address, "start_time": iso(now + 3600)})), [])
        self.assertEqual(len(self.srv.ok("GET", self.srv.a("/suppressions") + "?" + urllib.parse.urlencode(
            {"email": address, "start_time": iso(now - 3600), "end_time": iso(now + 3600)}))), 1)

    # -- tenant isolation

    def test_other_account_sees_none_of_our_logs_or_suppressions(self):
        tag = self.tag()
        [message_id] = self.srv.send(self.message(f"Private {tag}", [{"email": f"private-{tag}@sink.{ZONE}"}]))
        mine = self.srv.ok("POST", self.srv.a("/suppressions"), {"email": f"private-{tag}@x.test"}, status=201)["data"]
        b, b_token = self.b_account, self.b_token
        listed = self.srv.logs([("filters[subject][operator]", "ci_contain"), ("filters[subject][value]", tag)],
                               token=b_token, account=b)
        self.assertEqual((listed["messages"], listed["total_count"]), ([], 0))
        status, _ = self.srv.api("GET", self.srv.a(f"/email_logs/{message_id}", b), token=b_token)
        self.assertEqual(status, 404)
        status, _ = self.srv.api("GET", self.srv.a(f"/email_logs/{message_id}"), token=b_token)
        self.assertIn(status, (403, 404))
        status, _ = self.srv.api("GET", self.srv.a("/email_logs"), token=b_token)
        self.assertIn(status, (403, 404))
        self.assertEqual(self.srv.suppressions(f"private-{tag}@x.test", token=b_token, account=b), [])
        self.assertNotIn(mine["id"], [s["id"] for s in self.srv.suppressions(token=b_token, account=b)])
        status, _ = self.srv.api("DELETE", self.srv.a(f"/suppressions/{mine['id']}", b), token=b_token)
        self.assertEqual(status, 404)
        status, _ = self.srv.api("DELETE", self.srv.a(f"/suppressions/{mine['id']}"), token=b_token)
        self.assertIn(status, (403, 404))
        self.assertEqual(len(self.srv.suppressions(f"private-{tag}@x.test")), 1, "still there")
        # B's suppression of the same address does not block our mail.
        self.srv.ok("POST", self.srv.a("/suppressions", b), {"email": f"private-{tag}@sink.{ZONE}"}, token=b_token,
                    status=201)
        [again] = self.srv.send(self.message(f"Private 2 {tag}", [{"email": f"private-{tag}@sink.{ZONE}"}]))
        self.assertEqual(self.srv.wait_log(again)["status"], "delivered")


# ---- a smarthost


class Relay(LiveTestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = Sink("127.0.0.1", free_port())
        cls.srv = Postroom("--relay", f"smtp://127.0.0.1:{cls.relay.port}", "--relay-tls", "none",
                           "--retry-schedule", "1,1,1", "--sending-max-message-size", "20000",
                           domains=[f"relay.{ZONE}"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.relay.close()

    def test_everything_goes_through_the_smarthost(self):
        tag = self.tag()
        # Recipients whose own DNS would bounce them (NXDOMAIN, null MX) or send them elsewhere (the MX sink).
        recipients = [f"r1-{tag}@nothere.{ZONE}", f"r2-{tag}@nullmx.{ZONE}", f"r3-{tag}@sink.{ZONE}"]
        ids = self.srv.send({"from": {"email": f"app@relay.{ZONE}"}, "to": [{"email": r} for r in recipients],
                             "subject": f"Relayed {tag}", "text": "Through the smarthost"})
        for message_id, rcpt in zip(ids, recipients):
            message = self.srv.wait_log(message_id)
            self.assertEqual(message["status"], "delivered", message)
            self.assertEqual(message["events"][0]["details"]["recipient_mx"], "127.0.0.1")
            [delivered] = self.relay.to(rcpt)
            self.assertEqual(delivered["rcpts"], [rcpt])
            self.assert_signed_and_clean(delivered["data"], self.raw_of(message))
        self.assertEqual(WORLD["sink"].to(recipients[2], timeout=0.5), [], "nothing went to the MX")
        # SMTP submission is relayed as well.
        client = self.srv.submission()
        try:
            smtp_id = queued_uuid(smtp_data(client, f"app@relay.{ZONE}", [f"r4-{tag}@nothere.{ZONE}"],
                                            text_message(f"Relayed SMTP {tag}", f"app@relay.{ZONE}",
                                                         f"r4-{tag}@nothere.{ZONE}")))
        finally:
            client.quit()
        self.assertEqual(self.srv.wait_log(smtp_id)["status"], "delivered")
        self.assertEqual(len(self.relay.to(f"r4-{tag}@nothere.{ZONE}")), 1)


    def test_sending_max_message_size(self):
        tag = self.tag()
        big = "x" * 76 + "\n"
        status, data = self.srv.api("POST", "/api/send", {"from": {"email": f"app@relay.{ZONE}"},
                                                          "to": [{"email": f"big-{tag}@sink.{ZONE}"}],
                                                          "subject": f"Big {tag}", "text": big * 400})
        self.assertEqual(status, 413, data)
        self.assertEqual(data["success"], False)
        client = self.srv.submission()
        try:
            self.assertEqual(client.esmtp_features.get("size"), "20000")
            reply = smtp_data(client, f"app@relay.{ZONE}", [f"big-{tag}@sink.{ZONE}"],
                              text_message(f"Big {tag}", f"app@relay.{ZONE}", f"big-{tag}@sink.{ZONE}",
                                           text=big.replace("\n", "\r\n") * 400))
            self.assertEqual(reply[0], 552, reply)
        finally:
            client.close()
        self.assertEqual(self.srv.logs([("filters[subject][operator]", "ci_equal"),
                                        ("filters[subject][value]", f"Big {tag}")])["total_count"], 0)
        # Just under the limit goes out.
        [ok] = self.srv.send({"from": {"email": f"app@relay.{ZONE}"}, "to": [{"email": f"fits-{tag}@sink.{ZONE}"}],
                              "subject": f"Fits {tag}", "text": big * 150})
        self.assertEqual(self.srv.wait_log(ok)["status"], "delivered")


# ---- kill -9 with a queue


class Durability(LiveTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = None
        # Many short retries: nothing runs out of them while the receiver is down.
        cls.srv = Postroom("--retry-schedule", ",".join(["1"] * 40), domains=[f"durable.{ZONE}"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        if cls.receiver:
            cls.receiver.close()

    def test_kill_9_with_a_queue_then_every_message_is_delivered(self):
        tag = self.tag()
        recipients = [f"d{i}-{tag}@down.{ZONE}" for i in range(30)]
        response = self.srv.ok("POST", "/api/batch", {
            "base": {"from": {"email": f"app@durable.{ZONE}"}, "subject": f"Durable {tag}", "text": "Keep me"},
            "requests": [{"to": [{"email": r}]} for r in recipients[:25]]})
        ids = [r["message_ids"][0] for r in response["responses"]]
        client = self.srv.submission()
        try:
            for rcpt in recipients[25:]:
                ids.append(queued_uuid(smtp_data(client, f"app@durable.{ZONE}", [rcpt],
                                                 text_message(f"Durable {tag}", f"app@durable.{ZONE}", rcpt))))
        finally:
            client.quit()
        # Let the receiver-is-down soft bounces start, then kill -9 mid-queue.
        self.srv.wait_log(ids[0], lambda m: "soft_bounce" in self.events(m), timeout=15)
        first = self.srv.log(ids[0])
        self.assertEqual(first["status"], "enqueued")
        self.assertEqual(first["events"][0]["details"]["bounce_category"], "serverfail")
        self.srv.inst.stop(signal.SIGKILL)
        type(self).receiver = Sink(DOWN_ADDR)
        self.srv.start()
        for message_id, rcpt in zip(ids, recipients):
            message = self.srv.wait_log(message_id, lambda m: m["status"] == "delivered", timeout=30)
            self.assertEqual(message["to"], rcpt)
            self.assertEqual(self.events(message)[-1], "delivery")
            self.assertTrue(set(self.events(message)) <= {"soft_bounce", "delivery"}, message)
        for rcpt in recipients:
            delivered = self.receiver.to(rcpt)
            self.assertGreaterEqual(len(delivered), 1, f"{rcpt} was never delivered")
            self.assert_signed_and_clean(delivered[0]["data"])
        listed = self.srv.logs([("filters[subject][operator]", "ci_equal"), ("filters[subject][value]", f"Durable {tag}"),
                                ("filters[status][operator]", "equal"), ("filters[status][value]", "delivered")])
        self.assertEqual(listed["total_count"], 30)


if __name__ == "__main__":
    unittest.main()
