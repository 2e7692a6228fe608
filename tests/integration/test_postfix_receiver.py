"""Live sending into a real receiving MTA: a private Postfix instance (Debian's package, its own config, queue and
data directories under a temp dir) listens on 127.A.B.x:25 as the MX of a test domain served by dnsmasq, offers
STARTTLS with a throwaway self-signed certificate and delivers through its virtual(8) agent into a Maildir.

Messages sent from a verified sending domain through the API (text + HTML, an attachment, a UTF-8 subject, a long
folded header) and through SMTP submission must land in the Maildir: the email log says delivered to the Postfix
MX, the stored file carries Postfix's Return-Path (the VERP address b-<message_id>@bounces.<domain>), Delivered-To
and a Received header showing ESMTPS, the DKIM signature still verifies with dkimpy underneath them, and no X-MT-*
header went out. A recipient missing from Postfix's virtual_mailbox_maps is refused with 550 5.1.1: a bounce of
category badrecipient and a suppression.

Helpers (dnsmasq, the Postroom installation, dkimpy) come from test_live_sending.py. Runs against SQLite or
PostgreSQL (POSTROOM_TEST_DATABASE) with the binary named by POSTROOM_BIN. Postfix is required, never skipped:
scripts/install-deps.sh --test installs it."""

import atexit
import base64
import email.message
import email.policy
import email.utils
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_live_sending as live  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
ZONE = live.ZONE
RCPT_DOMAIN = f"pfx.{ZONE}"  # the domain Postfix receives for
MX_HOST = f"mx-postfix.{ZONE}"  # its MX host name (and Postfix's myhostname)
SENDING_DOMAIN = f"pfsend.{ZONE}"  # verified in Postroom
MAILBOXES = ("api", "smtp")  # the only users of RCPT_DOMAIN in virtual_mailbox_maps
VMAIL_OWNER = "nobody"  # the Maildir's owner (virtual_uid_maps / virtual_gid_maps)


def pick_address():
    """127.A.B.x with port 25 free, in a /24 none of the other loopback suites is likely to use."""
    for _ in range(100):
        address = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(10, 250)}"
        try:
            with socket.socket() as s:
                s.bind((address, 25))
            return address
        except OSError:
            continue
    raise RuntimeError("no loopback address with port 25 free")


def run(*command, timeout=30):
    out = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited with {out.returncode}: {out.stdout}{out.stderr}")
    return out.stdout


MASTER_CF = """\
{listen}  inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixReceiver:
    """A private Postfix: smtpd on address:25 only (STARTTLS offered), virtual mailboxes of `domain` delivered to
    <tmp>/vmail/<domain>/<user>/ (Maildir), everything logged to <tmp>/maillog. No chroot, no DNS: the SMTP
    client side (the only DNS user) is never used, peer names are not looked up."""

    def __init__(self, address, domain, hostname, mailboxes):
        self.address, self.domain, self.hostname = address, domain, hostname
        self.mailboxes = mailboxes
        self.master_pid = None
        self.started = False
        self.tmp = tempfile.mkdtemp(prefix="postroom-postfix-")

    def start(self):
        """Configures and starts Postfix; close() cleans up after a failure here too."""
        self._configure(self.mailboxes)
        self._start()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def _configure(self, mailboxes):
        os.chmod(self.tmp, 0o755)  # Postfix's daemons run as the postfix user and nobody writes the Maildir
        conf, queue, data, vmail = self.path("etc"), self.path("spool"), self.path("data"), self.path("vmail")
        for d in (conf, queue, data, vmail):
            os.mkdir(d)
        postfix = pwd.getpwnam("postfix")
        owner = pwd.getpwnam(VMAIL_OWNER)
        os.chown(data, postfix.pw_uid, postfix.pw_gid)
        os.chown(vmail, owner.pw_uid, owner.pw_gid)
        self.conf = conf
        run(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
            "2", "-subj", f"/CN={self.hostname}", "-keyout", os.path.join(conf, "key.pem"), "-out",
            os.path.join(conf, "cert.pem"))
        with open(os.path.join(conf, "vmailbox"), "w") as f:
            for user in mailboxes:
                f.write(f"{user}@{self.domain} {self.domain}/{user}/\n")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": queue,
            "data_directory": data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": ZONE,
            "myorigin": "$myhostname",
            # Postfix takes an explicit inet_interfaces address only if an interface has it exactly (lo has
            # 127.0.0.1/8): the listener's own address is in master.cf instead.
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.1/32",
            # Virtual mailboxes only: the domain is not local (mydestination and virtual_mailbox_domains must
            # not overlap), no aliases, no relaying.
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "relay_domains": "",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": vmail,
            "virtual_mailbox_maps": f"hash:{conf}/vmailbox",
            "virtual_uid_maps": f"static:{owner.pw_uid}",
            "virtual_gid_maps": f"static:{owner.pw_gid}",
            "smtpd_reject_unlisted_recipient": "yes",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": f"{conf}/cert.pem",
            "smtpd_tls_key_file": f"{conf}/key.pem",
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_loglevel": "1",
            "smtpd_peername_lookup": "no",
            "smtpd_client_restrictions": "",
            "smtpd_helo_restrictions": "",
            "smtpd_sender_restrictions": "",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            "maillog_file": self.path("maillog"),
            "maillog_file_prefixes": self.tmp,
        }
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=f"{self.address}:25"))
        run(POSTMAP, "-c", conf, f"hash:{conf}/vmailbox")
        run(POSTFIX, "-c", conf, "check")  # creates the queue directories with Postfix's own permissions

    def _start(self):
        self.started = True
        run(POSTFIX, "-c", self.conf, "start")
        with open(self.path("spool", "pid", "master.pid")) as f:
            self.master_pid = int(f.read().strip())
        live.wait_listening(self.address, 25, what="postfix")

    def log(self):
        try:
            with open(self.path("maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def maildir(self, user):
        return self.path("vmail", self.domain, user)

    def messages(self, user):
        """The (path, bytes) of every message delivered to user's Maildir (new/ and cur/)."""
        out = []
        for sub in ("new", "cur"):
            directory = os.path.join(self.maildir(user), sub)
            if not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                with open(os.path.join(directory, name), "rb") as f:
                    out.append((os.path.join(directory, name), f.read()))
        return out

    def wait_message(self, user, marker, timeout=20):
        """The one Maildir file of user containing marker (bytes), waiting for the virtual agent."""
        deadline = time.time() + timeout
        while True:
            found = [m for m in self.messages(user) if marker in m[1]]
            if len(found) > 1:
                raise AssertionError(f"{len(found)} messages with {marker!r} in {user}'s Maildir")
            if found:
                return found[0]
            if time.time() > deadline:
                raise AssertionError(f"nothing with {marker!r} in {user}'s Maildir after {timeout}s; "
                                     f"Postfix log:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    def wait_log_line(self, pattern, timeout=10):
        deadline = time.time() + timeout
        while True:
            lines = [line for line in self.log().splitlines() if re.search(pattern, line)]
            if lines or time.time() > deadline:
                return lines
            time.sleep(0.1)

    def _group_alive(self):
        """Whether a process of the master's process group is still running (zombies waiting for init to reap
        them do not count)."""
        if not self.master_pid:
            return False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.master_pid and fields[0] != "Z":  # state, ppid, pgrp
                return True
        return False

    def close(self):
        """Stops Postfix (postfix stop, then SIGKILL for the master's process group if anything is left) and
        removes the temp dir. Safe to call twice and after a failed start."""
        if self.started:
            self.started = False
            if self.master_pid is None:
                try:
                    with open(self.path("spool", "pid", "master.pid")) as f:
                        self.master_pid = int(f.read().strip())
                except (OSError, ValueError):
                    pass
            subprocess.run([POSTFIX, "-c", self.conf, "stop"], capture_output=True, timeout=30)
            # The master daemon is a session leader: its children (smtpd, qmgr, …) share its process group.
            deadline = time.time() + 10
            while self._group_alive() and time.time() < deadline:
                time.sleep(0.1)
            if self._group_alive():
                try:
                    os.killpg(self.master_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


# ---- the world: dnsmasq with the Postfix MX, Postfix; everything closed even when a set-up step fails or the
# run is terminated.

RESOURCES = []  # objects with close(), closed last first
SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
DEFERRAL = {"depth": 0, "pending": None}


class signals_deferred:
    """While resources are created or closed, a SIGTERM/SIGHUP/SIGINT waits for the end of the block: the handler
    never sees a half-started Postfix that is not in RESOURCES yet, nor a half-closed one. (Not the signal mask: the
    children started meanwhile would inherit it.)"""

    def __enter__(self):
        DEFERRAL["depth"] += 1

    def __exit__(self, *exc):
        DEFERRAL["depth"] -= 1
        if DEFERRAL["depth"] == 0 and DEFERRAL["pending"]:
            on_signal(DEFERRAL["pending"], None)


def close_resources():
    with signals_deferred():
        while RESOURCES:
            resource = RESOURCES.pop()
            try:
                resource.close()
            except Exception as e:  # keep closing the others
                sys.stderr.write(f"closing {resource!r}: {e}\n")
        live.WORLD.pop("dns", None)


def on_signal(signum, frame):
    """A terminated run (ctest's timeout, ^C) still stops Postfix: it is a daemon, nothing else would."""
    if DEFERRAL["depth"]:
        DEFERRAL["pending"] = signum
        return
    DEFERRAL["depth"] = 1  # once
    close_resources()
    os._exit(128 + signum)


class Postroom(live.Postroom):
    """test_live_sending's installation, registered for clean-up before it starts: a set-up that fails half-way
    (a domain that does not verify) leaves no server behind."""

    def __init__(self, *extra, domains=()):
        self.inst = None
        RESOURCES.append(self)
        super().__init__(*extra, domains=domains)

    def close(self):
        if self.inst is not None:
            super().close()
            self.inst = None


WORLD = {}


def setUpModule():
    if not os.path.exists(POSTFIX) or not os.path.exists(POSTMAP):
        raise AssertionError(f"Postfix is required by this suite and {POSTFIX} (or {POSTMAP}) is missing: install "
                             "the Debian package with scripts/install-deps.sh --test (apt-get install postfix)")
    unittest.addModuleCleanup(close_resources)
    atexit.register(close_resources)
    for sig in SIGNALS:
        signal.signal(sig, on_signal)
    with signals_deferred():
        address = pick_address()
        dns = live.Dns()
        RESOURCES.append(dns)
        live.WORLD["dns"] = dns  # the live helpers (Postroom, dkimpy's key lookups) use it from there
        dns.zones["postfix"] = [f"mx-host={RCPT_DOMAIN},{MX_HOST},10", f"host-record={MX_HOST},{address}"]
        dns.reload()
        WORLD["postfix"] = PostfixReceiver(address, RCPT_DOMAIN, MX_HOST, MAILBOXES)
        RESOURCES.append(WORLD["postfix"])
        WORLD["postfix"].start()


def lf_to_crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def header_value(data, name):
    """The unfolded values of header `name` in a CRLF message."""
    out = []
    for field in re.split(rb"\r\n(?![ \t])", live.header_block(data)):
        key, _, value = field.partition(b":")
        if key.strip().lower() == name.lower().encode():
            out.append(re.sub(rb"\r\n([ \t])", rb"\1", value).strip().decode())
    return out


LONG_HEADER = "X-Postroom-Long"
LONG_VALUE = " ".join(f"segment-{i:02d}-of-a-long-header-value" for i in range(12))  # ~420 characters
ATTACHMENT = bytes(range(256)) * 8 + b"\x00end"


class PostfixReceiverTest(live.LiveTestCase):
    @classmethod
    def setUpClass(cls):
        cls.postfix = WORLD["postfix"]
        with signals_deferred():
            cls.srv = Postroom("--retry-schedule", "1,1,1", domains=[SENDING_DOMAIN])

    @classmethod
    def tearDownClass(cls):
        with signals_deferred():
            if cls.srv in RESOURCES:
                RESOURCES.remove(cls.srv)
            cls.srv.close()

    def assert_delivered_to_postfix(self, message_id, user, marker):
        """The email log says delivered to the Postfix MX; the Maildir file is the stored message, signed, under
        Postfix's own trace headers. Returns the Maildir bytes (CRLF)."""
        rcpt = f"{user}@{RCPT_DOMAIN}"
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "delivered", message)
        self.assertEqual(self.events(message), ["delivery"], message)
        self.assertEqual(message["to"], rcpt)
        self.assertEqual(message["events"][0]["details"]["recipient_mx"], MX_HOST)
        path, stored_file = self.postfix.wait_message(user, marker)

        # dkimpy on the file exactly as Postfix stored it (LF line ends, Postfix's headers on top).
        results = live.dkim_results(live.WORLD["dns"].port, stored_file)[0]
        self.assertTrue(results and all(results), f"DKIM results {results} for {path}")
        data = lf_to_crlf(stored_file)
        names = live.header_names(data)
        self.assertEqual(names[:4], ["return-path", "x-original-to", "delivered-to", "received"], names)
        self.assertEqual(header_value(data, "Return-Path"),
                         [f"<b-{message_id}@bounces.{SENDING_DOMAIN}>"], "the VERP envelope sender")
        self.assertEqual(header_value(data, "Delivered-To"), [rcpt])
        self.assertEqual(header_value(data, "X-Original-To"), [rcpt])
        received = header_value(data, "Received")
        self.assertEqual(len(received), 1, received)
        self.assertRegex(received[0], rf"^from {re.escape(live.HOSTNAME)} \(unknown \[127\.0\.0\.1\]\)")
        self.assertIn(f"by {MX_HOST} (Postfix) with ESMTPS id ", received[0], "delivered over STARTTLS")
        self.assertRegex(received[0], r"\(using TLSv1\.[23] with cipher ")
        self.assertIn(f"for <{rcpt}>", received[0])
        self.assertEqual([n for n in names if n.startswith("x-mt-")], [], names)
        self.assertNotIn("bcc", names)

        # Under Postfix's four headers: DKIM-Signature(s), then the stored message byte for byte.
        stored = self.raw_of(message)
        self.assertTrue(data.endswith(stored), "the Maildir file ends with the stored message")
        prefix = data[:len(data) - len(stored)]
        between = live.header_names(prefix + b"\r\n")[4:]
        self.assertTrue(between and set(between) == {"dkim-signature"}, names)
        self.assertNotIn(b"DKIM-Signature", live.header_block(stored), "the stored bytes are unsigned")
        signatures = header_value(data, "DKIM-Signature")
        self.assertTrue(any(re.search(rf"\bd={re.escape(SENDING_DOMAIN)};", s) for s in signatures), signatures)
        return data

    def test_api_send_lands_in_the_maildir_signed_over_starttls(self):
        tag = self.tag()
        subject = f"Grüße aus Köln ✓ — naïve café {tag}"
        text = f"Hallo {tag},\nplain text with ümlauts.\n.a line starting with a dot\n"
        html = f"<p>Hallo <b>{tag}</b> — <i>HTML</i> part</p>"
        [message_id] = self.srv.send({
            "from": {"email": f"app@{SENDING_DOMAIN}", "name": "Pöstroom Äpp"},
            "to": [{"email": f"api@{RCPT_DOMAIN}", "name": "API Mailbox"}],
            "subject": subject, "text": text, "html": html, "category": "Postfix API",
            "custom_variables": {"case": tag},
            "headers": {LONG_HEADER: LONG_VALUE, "X-Tag": tag},
            "attachments": [{"filename": "report.bin", "type": "application/octet-stream",
                             "content": base64.b64encode(ATTACHMENT).decode()}]})
        data = self.assert_delivered_to_postfix(message_id, "api", f"X-Tag: {tag}".encode())
        self.assertEqual(self.srv.log(message_id)["subject"], subject)

        parsed = live.parse_mime(data)
        self.assertEqual(parsed["Subject"], subject)
        self.assertIn("Pöstroom Äpp", str(parsed["From"]))
        self.assertEqual(parsed.get_body(("plain",)).get_content().replace("\r\n", "\n"), text)
        self.assertEqual(parsed.get_body(("html",)).get_content().strip(), html)
        [attachment] = list(parsed.iter_attachments())
        self.assertEqual(attachment.get_filename(), "report.bin")
        self.assertEqual(attachment.get_content_type(), "application/octet-stream")
        self.assertEqual(attachment.get_content(), ATTACHMENT)
        # The long header: folded into lines Postfix kept as they were, unfolding to the value sent.
        self.assertEqual(header_value(data, LONG_HEADER), [LONG_VALUE])
        raw_field = re.search(rb"\r\n" + LONG_HEADER.encode() + rb":.*?\r\n(?![ \t])", data, re.S).group(0)
        physical = raw_field.strip(b"\r\n").split(b"\r\n")
        self.assertGreater(len(physical), 2, "the long header is folded")
        self.assertTrue(all(len(line) <= 998 for line in physical))
        self.assertNotIn(b'"case"', data, "custom variables are not delivered")

    def test_smtp_submission_lands_in_the_maildir_signed_over_starttls(self):
        tag = self.tag()
        rcpt = f"smtp@{RCPT_DOMAIN}"
        subject = f"Über SMTP — ✉ {tag}"
        msg = email.message.EmailMessage(policy=email.policy.SMTP)
        msg["From"] = f"Sam <sam@{SENDING_DOMAIN}>"
        msg["To"] = rcpt
        msg["Subject"] = subject
        msg["Date"] = email.utils.formatdate()
        msg["Message-ID"] = email.utils.make_msgid(domain=SENDING_DOMAIN)
        msg["X-MT-Category"] = "Postfix SMTP"
        msg["X-MT-Custom-Variables"] = f'{{"case": "{tag}"}}'
        msg[LONG_HEADER] = LONG_VALUE
        msg["X-Tag"] = tag
        msg.set_content(f"Plain part {tag}\nwith ümlauts\n")
        msg.add_alternative(f"<p>HTML part <b>{tag}</b></p>", subtype="html")
        msg.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="report.bin")
        client = self.srv.submission()
        try:
            message_id = live.queued_uuid(live.smtp_data(client, f"sam@{SENDING_DOMAIN}", [rcpt], msg.as_bytes()))
        finally:
            client.quit()
        data = self.assert_delivered_to_postfix(message_id, "smtp", f"X-Tag: {tag}".encode())
        message = self.srv.log(message_id)
        self.assertEqual(message["category"], "Postfix SMTP")
        self.assertEqual(message["custom_variables"], {"case": tag})
        self.assertEqual(message["subject"], subject)
        parsed = live.parse_mime(data)
        self.assertEqual(parsed["Subject"], subject)
        self.assertEqual(header_value(data, LONG_HEADER), [LONG_VALUE])
        self.assertEqual(parsed.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                         f"Plain part {tag}\nwith ümlauts\n")
        [attachment] = list(parsed.iter_attachments())
        self.assertEqual(attachment.get_content(), ATTACHMENT)

    def test_unknown_recipient_is_refused_bounced_and_suppressed(self):
        tag = self.tag()
        rcpt = f"nosuchuser-{tag}@{RCPT_DOMAIN}"
        [message_id] = self.srv.send({"from": {"email": f"app@{SENDING_DOMAIN}"}, "to": [{"email": rcpt}],
                                      "subject": f"Unknown user {tag}", "text": "Nobody reads this.",
                                      "category": "Postfix bounce"})
        message = self.srv.wait_log(message_id)
        self.assertEqual(message["status"], "not_delivered", message)
        self.assertEqual(self.events(message), ["bounce"], message)
        details = message["events"][0]["details"]
        self.assertEqual(details["bounce_category"], "badrecipient", details)
        self.assertEqual(details["email_service_provider_status"], "5.1.1", details)
        self.assertIn(f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
                      details["email_service_provider_response"])
        self.assertEqual(details["recipient_mx"], MX_HOST)
        refused = self.postfix.wait_log_line(rf"NOQUEUE: reject: RCPT from .*550 5\.1\.1 <{re.escape(rcpt)}>")
        self.assertEqual(len(refused), 1, self.postfix.log()[-4000:])
        self.assertFalse(os.path.exists(self.postfix.maildir(f"nosuchuser-{tag}")))

        [entry] = self.srv.suppressions(rcpt)
        self.assertEqual(entry["type"], "hard bounce")
        self.assertEqual(entry["email"], rcpt)
        self.assertEqual(entry["sending_stream"], "transactional")
        self.assertEqual(entry["domain_name"], SENDING_DOMAIN)
        self.assertEqual(entry["message_bounce_category"], "badrecipient")
        self.assertEqual(entry["message_recipient_mx_name"], MX_HOST)
        self.assertEqual(entry["message_category"], "Postfix bounce")
        self.assertIn("User unknown in virtual mailbox table", entry["message_esp_response"])

        # The suppressed address is not tried again: Postfix sees no second RCPT.
        [again] = self.srv.send({"from": {"email": f"app@{SENDING_DOMAIN}"}, "to": [{"email": rcpt}],
                                 "subject": f"Unknown user again {tag}", "text": "Still nobody."})
        later = self.srv.wait_log(again)
        self.assertEqual(self.events(later), ["reject"], later)
        self.assertIn("suppression list", later["events"][0]["details"]["reject_reason"])
        time.sleep(0.5)
        self.assertEqual(len(self.postfix.wait_log_line(rf"reject: RCPT from .*<{re.escape(rcpt)}>", timeout=0)), 1)


if __name__ == "__main__":
    unittest.main()
