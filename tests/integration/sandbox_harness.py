"""A running Postroom with its Email Sandbox SMTP listeners, for the black-box sandbox tests: bootstrap, serve
with SMTP (plain/STARTTLS and implicit TLS) on free loopback ports, and small helpers for the sandbox API and
for real SMTP clients."""

import contextlib
import email.message
import email.utils
import os
import re
import smtplib
import socket
import ssl
import time
import urllib.parse

from postroom_harness import Installation

SHARED = os.environ.get("POSTROOM_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
SDK_DIR = os.path.join(os.path.dirname(__file__), "..", "sdk")
EMAIL_DOMAIN = "inbox.postroom.test"
QUEUED = re.compile(rb"^2\.0\.0 Ok: queued as (\d+)$")


class Sandbox:
    """One installation serving the API and the sandbox SMTP listeners. `extra` are more `serve` options; a
    callable gets the bootstrap record and returns them (for options that name a bootstrap id)."""

    def __init__(self, extra=(), smtps=True):
        self.inst = Installation()
        self.boot = self.inst.bootstrap()
        self.account = self.boot["account_id"]
        self.token = self.boot["api_token"]
        self.smtps = smtps
        self.extra = list(extra(self.boot) if callable(extra) else extra)
        self.start()

    def start(self):
        self.inst.start(*self.extra, more_listeners=("--sandbox-smtps",) if self.smtps else ())
        self.smtp_port = self.inst.listener_ports["--sandbox-smtp"]
        self.smtps_port = self.inst.listener_ports.get("--sandbox-smtps")
        for port in filter(None, (self.smtp_port, self.smtps_port)):
            deadline = time.time() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)

    def restart(self, sig):
        self.inst.stop(sig)
        self.start()

    def close(self):
        self.inst.close()

    @property
    def cert(self):
        return os.path.join(self.inst.data_dir, "tls", "cert.pem")

    def tls_context(self):
        return ssl.create_default_context(cafile=self.cert)

    # ---- API

    def api(self, method, path, body=None, token=None):
        status, data, _ = self.inst.request(method, path, token or self.token, body)
        return status, data

    def ok(self, method, path, body=None, token=None):
        status, data = self.api(method, path, body, token)
        if status != 200:
            raise AssertionError(f"{method} {path}: {status} {data!r}")
        return data

    def inbox_path(self, inbox_id, account=None):
        return f"/api/accounts/{account or self.account}/inboxes/{inbox_id}"

    def create_inbox(self, name, project_id=None, account=None, token=None):
        project = project_id or self.boot["project_id"]
        return self.ok("POST", f"/api/accounts/{account or self.account}/projects/{project}/inboxes",
                       {"inbox": {"name": name}}, token)

    def inbox(self, inbox_id):
        return self.ok("GET", self.inbox_path(inbox_id))

    def messages(self, inbox_id, search=None, page=None):
        query = {}
        if search is not None:
            query["search"] = search
        if page is not None:
            query["page"] = page
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return self.ok("GET", self.inbox_path(inbox_id) + "/messages" + suffix)

    def all_messages(self, inbox_id):
        out, page = [], 1
        while True:
            batch = self.messages(inbox_id, page=page)
            if not batch:
                return out
            out += batch
            page += 1

    def subjects(self, inbox_id, search=None):
        return [m["subject"] for m in self.messages(inbox_id, search)]

    def part(self, inbox_id, message_id, suffix):
        status, data, headers = self.inst.request("GET", f"{self.inbox_path(inbox_id)}/messages/{message_id}/{suffix}",
                                                  self.token)
        return status, data, headers

    # ---- SMTP

    @contextlib.contextmanager
    def smtp(self, inbox=None, tls=None, timeout=10):
        """An smtplib client, logged in to `inbox` when given. tls: None (plain), "starttls" or "implicit"."""
        if tls == "implicit":
            client = smtplib.SMTP_SSL("127.0.0.1", self.smtps_port, timeout=timeout, context=self.tls_context())
        else:
            client = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout)
        try:
            client.ehlo("client.test")
            if tls == "starttls":
                client.starttls(context=self.tls_context())
                client.ehlo("client.test")
            if inbox is not None:
                client.login(inbox["username"], inbox["password"])
            yield client
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def make_message(subject, to="Rita Receiver <rita@example.com>", sender="Sam Sender <sam@example.com>",
                 text="Hello from the tests.\n", html=None, cc=None, attachment=None, headers=None):
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = email.utils.make_msgid(domain="client.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        filename, content_type, data = attachment
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def deliver(client, sender, recipients, data, mail_options=()):
    """One transaction step by step (no SIZE parameter unless given); returns the DATA reply (code, text).
    Raises AssertionError when MAIL or a RCPT is refused."""
    code, text = client.mail(sender, list(mail_options))
    if code != 250:
        raise AssertionError(f"MAIL refused: {code} {text!r}")
    for rcpt in recipients:
        code, text = client.rcpt(rcpt)
        if code != 250:
            raise AssertionError(f"RCPT {rcpt} refused: {code} {text!r}")
    try:
        return client.data(data)
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error


def queued_id(reply):
    """The message id of a `250 2.0.0 Ok: queued as N` reply."""
    code, text = reply
    match = QUEUED.match(text)
    if code != 250 or not match:
        raise AssertionError(f"not queued: {code} {text!r}")
    return int(match.group(1))


def normalize_crlf(data):
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)
