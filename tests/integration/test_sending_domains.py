"""Sending domains against the real binary and a real DNS server: every zone is built from the records the API
itself hands out (what a user would copy into their DNS provider) and served by dnsmasq on a free loopback port,
so verification, background re-checks, lost records, approval, DKIM rotation, exports and setup instructions are
all checked end to end. Then access control, tenant isolation, hostile input, name normalization, company
information and persistence across a kill -9."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import Installation, free_port  # noqa: E402

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
ZONE = "dt.test"  # every test domain lives under it; dnsmasq answers NXDOMAIN for the rest of it
HOSTNAME = "mta.postroom.test"
SPF_INCLUDE = "_spf.postroom.test"
BOUNCE_HOST = "bounces.postroom.test"
TRACKING_HOST = "t.postroom.test"
KEYS = ["verification", "spf", "dkim1", "dkim2", "dmarc", "return_path", "link_verification"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
TOKEN = re.compile(r"^[0-9a-f]{64}$")
NOT_FOUND = {"error": "Not Found"}
DENIED = (403, 404)  # another tenant's or another domain's object: refused or not even shown to exist


def split255(value):
    return [value[i:i + 255] for i in range(0, len(value), 255)] or [""]


def quoted(part):
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dns:
    """dnsmasq on a free loopback port (no upstream, no hosts file) serving the zones published so far. Zones live
    in a conf file; changing them restarts dnsmasq on the same port (SIGHUP does not re-read --conf-file
    txt-records)."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-dns-")
        self.conf = os.path.join(self.tmp.name, "zones.conf")
        self.log = os.path.join(self.tmp.name, "dnsmasq.log")
        self.port = free_port()
        self.zones = {}  # domain name → dnsmasq lines
        self.process = None
        self.reload()

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def line(name, rtype, value):
        if rtype == "CNAME":
            return f"cname={name},{value}"
        if rtype == "MX":
            return f"mx-host={name},{value},10"
        # One quoted character-string per ≤ 255 octets: txt-record=name,"part1","part2".
        return f"txt-record={name}," + ",".join(quoted(p) for p in split255(value))

    def lines(self, domain, skip=(), replace=None, extra=()):
        """The dnsmasq lines publishing the API's records of `domain` (a domain object): all of them, but none for
        the keys in `skip`, and (type, value) instead for the keys in `replace`; `extra` are more (name, type,
        value) records."""
        replace = replace or {}
        lines = []
        for record in domain["dns_records"]:
            if record["key"] in skip:
                continue
            rtype, value = replace.get(record["key"], (record["type"], record["value"]))
            lines.append(self.line(record["domain"], rtype, value))
        return lines + [self.line(*record) for record in extra]

    def publish(self, domain, **how):
        """Replaces the zone of `domain` (see lines) and restarts dnsmasq."""
        self.zones[domain["domain_name"]] = self.lines(domain, **how)
        self.reload()

    def reload(self):
        self.stop()
        with open(self.conf, "w") as f:
            for lines in self.zones.values():
                f.write("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", f"--conf-file={self.conf}", "--pid-file=", f"--port={self.port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", f"--local=/{ZONE}/",
             f"--log-facility={self.log}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while True:
            if self.process.poll() is not None:
                raise AssertionError("dnsmasq exited: " + self.process.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stderr.close()
            self.process = None

    def close(self):
        self.stop()
        self.tmp.cleanup()


class Server:
    """One installation served with the domain options pointed at `dns`; `extra` are more serve options."""

    def __init__(self, dns, *extra, dns_server=None):
        self.inst = Installation()
        self.boot = self.inst.bootstrap()
        self.token = self.boot["api_token"]
        self.account = self.boot["account_id"]
        self.base = f"/api/accounts/{self.account}/sending_domains"
        self.args = ["--dns-server", dns_server or dns.server, "--sending-hostname", HOSTNAME,
                     "--spf-include", SPF_INCLUDE,
                     "--bounce-host", BOUNCE_HOST, "--tracking-host", TRACKING_HOST,
                     "--rate-limit-requests", "100000", *extra]
        self.inst.start(*self.args)

    def restart(self, sig):
        self.inst.stop(sig)
        self.inst.start(*self.args)

    def close(self):
        self.inst.close()

    def api(self, method, path, body=None, token=None, raw=None):
        status, data, _ = self.inst.request(method, path, self.token if token is None else token, body,
                                            raw_body=raw)
        return status, data

    def ok(self, method, path, body=None, token=None, status=200):
        actual, data = self.api(method, path, body, token)
        if actual != status:
            raise AssertionError(f"{method} {path}: {actual} {data!r}")
        return data

    def create(self, name, token=None):
        return self.ok("POST", self.base, {"sending_domain": {"domain_name": name}}, token)

    def get(self, domain_id, token=None):
        return self.ok("GET", f"{self.base}/{domain_id}", token=token)

    def verify(self, domain_id, token=None):
        return self.ok("POST", f"{self.base}/{domain_id}/verify", token=token)

    def patch(self, domain_id, fields, token=None):
        return self.api("PATCH", f"{self.base}/{domain_id}", {"sending_domain": fields}, token)

    def list(self, token=None):
        return self.ok("GET", self.base, token=token)["data"]

    def new_token(self, name, resources, account=None):
        return self.ok("POST", f"/api/accounts/{account or self.account}/api_tokens",
                       {"name": name, "resources": resources})["token"]

    def viewer_token(self):
        return self.new_token("domains viewer", [{"resource_type": "account", "resource_id": self.account,
                                                  "access_level": 10}])

    def second_account(self):
        """A sub-account of the same organization and an admin token of that account only."""
        other = self.ok("POST", f"/api/organizations/{self.boot['organization_id']}/sub_accounts",
                        {"account": {"name": "Tenant B"}})
        token = self.new_token("B admin", [{"resource_type": "account", "resource_id": other["id"],
                                            "access_level": 100}], account=other["id"])
        return other["id"], token

    def poll(self, domain_id, predicate, timeout=20):
        """GETs the domain (never verify) until predicate(domain) holds."""
        deadline = time.time() + timeout
        while True:
            domain = self.get(domain_id)
            if predicate(domain):
                return domain
            if time.time() > deadline:
                raise AssertionError(f"timed out after {timeout}s; last state: {domain!r}")
            time.sleep(0.25)


def records_by_key(domain):
    return {r["key"]: r for r in domain["dns_records"]}


def describe(record):
    return (f"{record['key']} {record['domain']}: {record['status']} ({record.get('reason', '')}) "
            f"found {record.get('found')!r}")


class DomainTestCase(unittest.TestCase):
    def assert_all_pass(self, domain, keys=None):
        for record in domain["dns_records"]:
            if keys is None or record["key"] in keys:
                self.assertEqual(record["status"], "pass", describe(record))
                self.assertNotIn("reason", record, describe(record))
                self.assertTrue(record.get("found"), describe(record))

    def assert_only_broken(self, domain, key, status, reason):
        records = records_by_key(domain)
        broken = records[key]
        self.assertEqual(broken["status"], status, describe(broken))
        self.assertIn(reason, broken.get("reason", ""), describe(broken))
        self.assert_all_pass(domain, set(KEYS) - {key})
        self.assertFalse(domain["dns_verified"])
        self.assertEqual(domain["compliance_status"], "unverified_dns")


# ---- a, b, d, f, g, h: verification on demand, exports and setup instructions


class Verification(DomainTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        cls.srv = Server(cls.dns)

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def test_a_every_record_published_verifies_and_is_compliant(self):
        created = self.srv.create("good.dt.test")
        self.assertEqual([r["key"] for r in created["dns_records"]], KEYS)
        records = records_by_key(created)
        self.assertRegex(records["verification"]["name"], r"^pr-[0-9a-f]{12}$")
        expected = {  # key → (domain, type, value, required)
            "verification": (records["verification"]["name"] + ".good.dt.test", "CNAME", HOSTNAME, True),
            "spf": ("good.dt.test", "TXT", f"v=spf1 include:{SPF_INCLUDE} ~all", True),
            "dmarc": ("_dmarc.good.dt.test", "TXT", "v=DMARC1; p=none;", True),
            "return_path": ("bounces.good.dt.test", "CNAME", BOUNCE_HOST, True),
            "link_verification": ("mt-link.good.dt.test", "CNAME", TRACKING_HOST, False),
        }
        for key, (name, rtype, value, required) in expected.items():
            r = records[key]
            self.assertEqual((r["domain"], r["type"], r["value"], r["required"]), (name, rtype, value, required), key)
        for key, required in (("dkim1", True), ("dkim2", False)):
            r = records[key]
            selector = "pr1" if key == "dkim1" else "pr2"
            self.assertEqual((r["domain"], r["name"], r["type"], r["required"]),
                             (f"{selector}._domainkey.good.dt.test", f"{selector}._domainkey", "TXT", required))
            self.assertRegex(r["value"], r"^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$")
            self.assertGreater(len(r["value"]), 255, "an RSA-2048 key needs several TXT character-strings")
        self.assertNotEqual(records["dkim1"]["value"], records["dkim2"]["value"])
        self.assertEqual({r["status"] for r in created["dns_records"]}, {"unchecked"})
        self.assertEqual((created["dns_verified"], created["dns_verified_at"], created["compliance_status"],
                          created["dns_checked_at"], created["dns_lost"]), (False, "", "unverified_dns", None, False))

        self.dns.publish(created)
        verified = self.srv.verify(created["id"])
        self.assert_all_pass(verified)
        records = records_by_key(verified)
        self.assertEqual(records["spf"]["found"], f"v=spf1 include:{SPF_INCLUDE} ~all")
        self.assertEqual(records["dmarc"]["found"], "v=DMARC1; p=none;")
        self.assertEqual(records["verification"]["found"], HOSTNAME)
        self.assertEqual(records["return_path"]["found"], f"CNAME {BOUNCE_HOST}")
        self.assertTrue(records["dkim1"]["found"].startswith("v=DKIM1; k=rsa; p="))
        self.assertTrue(verified["dns_verified"])
        self.assertRegex(verified["dns_verified_at"], ISO)
        self.assertRegex(verified["dns_checked_at"], ISO)
        self.assertEqual(verified["compliance_status"], "compliant")
        self.assertFalse(verified["dns_lost"])
        # The stored state is what GET shows.
        got = self.srv.get(created["id"])
        self.assertEqual(got, verified)

    def test_b_each_broken_record_fails_alone(self):
        donor = self.srv.create("donor.dt.test")  # whose key is published in the wrong place
        other_key = records_by_key(donor)["dkim1"]["value"]
        cases = [  # name, key, how it is published, status, reason
            ("noverify", "verification", {"skip": ["verification"]}, "missing", "no CNAME record at {domain}"),
            ("wrongcname", "verification", {"replace": {"verification": ("CNAME", "other.example.net")}}, "fail",
             f"CNAME points to other.example.net, expected {HOSTNAME}"),
            ("noinclude", "spf", {"replace": {"spf": ("TXT", "v=spf1 include:_spf.google.com ~all")}}, "fail",
             f"SPF record does not include include:{SPF_INCLUDE}"),
            ("twospf", "spf", {"extra": [("twospf.dt.test", "TXT", "v=spf1 include:_spf.google.com ~all")]}, "fail",
             "two SPF records at twospf.dt.test"),
            ("wrongdkim", "dkim1", {"replace": {"dkim1": ("TXT", other_key)}}, "fail",
             "DKIM key differs from the published selector key"),
            ("baddmarc", "dmarc", {"replace": {"dmarc": ("TXT", "v=DMARC1; p=maybe")}}, "fail",
             "DMARC record is invalid: invalid policy p=maybe"),
            ("noreturn", "return_path", {"skip": ["return_path"]}, "missing",
             "no CNAME or MX record at bounces.noreturn.dt.test"),
        ]
        domains = {}
        for name, _, how, _, _ in cases:  # all published together: one dnsmasq restart
            domain = self.srv.create(f"{name}.{ZONE}")
            domains[name] = domain
            self.dns.zones[domain["domain_name"]] = self.dns.lines(domain, **how)
        self.dns.reload()
        for name, key, how, status, reason in cases:
            with self.subTest(domain=name):
                domain = domains[name]
                record = records_by_key(domain)[key]
                checked = self.srv.verify(domain["id"])
                self.assert_only_broken(checked, key, status, reason.format(domain=record["domain"]))
                self.assertEqual(checked["dns_verified_at"], "")
                self.assertFalse(checked["dns_lost"], "it was never verified")
                found = records_by_key(checked)[key].get("found", "")
                if name == "wrongcname":
                    self.assertEqual(found, "other.example.net")
                if name == "twospf":
                    self.assertIn("include:_spf.google.com", found)
                    self.assertIn(f"include:{SPF_INCLUDE}", found)
                if name == "baddmarc":
                    self.assertEqual(found, "v=DMARC1; p=maybe")

    def test_d_verified_domain_losing_a_record_is_flagged(self):
        domain = self.srv.create("lose.dt.test")
        self.dns.publish(domain)
        verified = self.srv.verify(domain["id"])
        self.assertTrue(verified["dns_verified"], verified)
        self.dns.publish(domain, skip=["dkim1"])
        lost = self.srv.verify(domain["id"])
        self.assert_only_broken(lost, "dkim1", "missing", "no TXT record at pr1._domainkey.lose.dt.test")
        self.assertTrue(lost["dns_lost"])
        self.assertEqual(self.srv.get(domain["id"])["dns_lost"], True, "the flag is stored")
        self.dns.publish(domain)
        back = self.srv.verify(domain["id"])
        self.assert_all_pass(back)
        self.assertEqual((back["dns_verified"], back["dns_lost"], back["compliance_status"]),
                         (True, False, "compliant"))

    def test_f_dkim_rotation(self):
        domain = self.srv.create("rotate.dt.test")
        path = f"{self.srv.base}/{domain['id']}/dkim_rotation"
        before = records_by_key(domain)
        self.dns.publish(domain, skip=["dkim2"])
        checked = self.srv.verify(domain["id"])
        self.assertTrue(checked["dns_verified"], "the standby key is not required")
        self.assertEqual(records_by_key(checked)["dkim2"]["status"], "missing")
        status, refused = self.srv.api("POST", path)
        self.assertEqual(status, 422, refused)
        self.assertEqual(refused, {"errors": {"base": [
            "Publish the standby DKIM key at pr2._domainkey.rotate.dt.test and verify the domain before rotating"]}})

        self.dns.publish(domain)
        self.assert_all_pass(self.srv.verify(domain["id"]))
        rotated = self.srv.ok("POST", path)
        after = records_by_key(rotated)
        self.assertEqual([r["key"] for r in rotated["dns_records"]], KEYS)
        # pr2 signs now: its record is required and still passes; pr1 has a new standby key to publish.
        self.assertEqual((after["dkim2"]["value"], after["dkim2"]["required"], after["dkim2"]["status"]),
                         (before["dkim2"]["value"], True, "pass"))
        self.assertEqual((after["dkim1"]["domain"], after["dkim1"]["required"], after["dkim1"]["status"]),
                         ("pr1._domainkey.rotate.dt.test", False, "unchecked"))
        self.assertNotEqual(after["dkim1"]["value"], before["dkim1"]["value"])
        self.assertRegex(after["dkim1"]["value"], r"^v=DKIM1; k=rsa; p=")
        self.assertTrue(rotated["dns_verified"])
        self.assertEqual(self.srv.get(domain["id"])["dns_records"], rotated["dns_records"])

        # The new standby key is not published yet: no second rotation.
        status, refused = self.srv.api("POST", path)
        self.assertEqual(status, 422, refused)
        self.assertIn("pr1._domainkey.rotate.dt.test", refused["errors"]["base"][0])
        # Once published and verified, the rotation goes back to pr1.
        self.dns.publish(rotated)
        self.assert_all_pass(self.srv.verify(domain["id"]))
        again = records_by_key(self.srv.ok("POST", path))
        self.assertEqual((after["dkim1"]["value"], True, "pass"),
                         (again["dkim1"]["value"], again["dkim1"]["required"], again["dkim1"]["status"]))
        self.assertEqual((again["dkim2"]["required"], again["dkim2"]["status"]), (False, "unchecked"))
        self.assertNotEqual(again["dkim2"]["value"], before["dkim2"]["value"])

    def test_g_exports(self):
        domain = self.srv.create("export.dt.test")
        records = domain["dns_records"]
        path = f"{self.srv.base}/{domain['id']}/dns_records"
        # Checked once now, so that no GET below schedules a background check that would change the statuses.
        checked = self.srv.verify(domain["id"])

        status, data = self.srv.api("GET", path)
        self.assertEqual((status, data), (200, {"data": checked["dns_records"]}))
        self.assertEqual([(r["key"], r["domain"], r["value"]) for r in data["data"]],
                         [(r["key"], r["domain"], r["value"]) for r in records])
        self.assertEqual(self.srv.api("GET", path + "?format=json")[1], data)

        status, zone, headers = self.srv.inst.request("GET", path + "?format=bind", self.srv.token)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        lines = [line for line in zone.decode().splitlines() if line and not line.startswith(";")]
        self.assertEqual(len(lines), len(records), zone)
        parsed = []
        for line in lines:
            name, ttl, klass, rtype, rdata = line.split("\t")
            self.assertEqual((ttl, klass), ("3600", "IN"), line)
            self.assertTrue(name.endswith("."), line)
            if rtype == "TXT":
                chunks = re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)
                self.assertEqual(" ".join(f'"{c}"' for c in chunks), rdata, "only quoted strings")
                self.assertTrue(all(len(c) <= 255 for c in chunks), rdata)
                value = "".join(chunks)
            else:
                self.assertTrue(rdata.endswith("."), line)
                value = rdata[:-1]
            parsed.append((name[:-1], rtype, value))
        self.assertEqual(parsed, [(r["domain"], r["type"], r["value"]) for r in records])
        self.assertTrue(any(len(re.findall(r'"[^"]*"', line)) > 1 for line in lines), "a long key is split")

        batch = self.srv.ok("GET", path + "?format=route53")
        self.assertEqual(batch["Comment"], "Postroom sending records for export.dt.test")
        self.assertEqual(len(batch["Changes"]), len(records))
        for change, record in zip(batch["Changes"], records):
            self.assertEqual(change["Action"], "UPSERT")
            rrset = change["ResourceRecordSet"]
            self.assertEqual((rrset["Name"], rrset["Type"], rrset["TTL"]),
                             (record["domain"] + ".", record["type"], 3600))
            [value] = [v["Value"] for v in rrset["ResourceRecords"]]
            if record["type"] == "TXT":
                chunks = re.findall(r'"([^"]*)"', value)
                self.assertTrue(all(len(c) <= 255 for c in chunks))
                self.assertEqual("".join(chunks), record["value"])
            else:
                self.assertEqual(value, record["value"] + ".")

        cloudflare = self.srv.ok("GET", path + "?format=cloudflare")
        self.assertIsInstance(cloudflare, list)
        expected = []
        for r in records:
            item = {"type": r["type"], "name": r["domain"], "content": r["value"], "ttl": 3600}
            if r["type"] == "CNAME":
                item["proxied"] = False
            expected.append(item)
        self.assertEqual(cloudflare, expected)

        status, error = self.srv.api("GET", path + "?format=tinydns")
        self.assertEqual(status, 400)
        self.assertEqual(error, {"error": "'format' must be json, bind, route53 or cloudflare"})
        self.assertEqual(self.srv.api("GET", f"{self.srv.base}/999999/dns_records?format=bind")[0], 404)

    def system_inbox(self):
        projects = self.srv.ok("GET", f"/api/accounts/{self.srv.account}/projects")
        system = [p for p in projects if p["name"] == "Postroom system mail"]
        self.assertEqual(len(system), 1, [p["name"] for p in projects])
        [inbox] = system[0]["inboxes"]
        self.assertEqual(inbox["name"], "System mail")
        return inbox["id"]

    def test_h_setup_instructions_land_in_the_system_sandbox(self):
        domain = self.srv.create("setup.dt.test")
        path = f"{self.srv.base}/{domain['id']}/send_setup_instructions"
        status, body, _ = self.srv.inst.request("POST", path, self.srv.token, {"email": "ops@example.com"})
        self.assertEqual((status, body), (204, b""))
        inbox = self.system_inbox()
        base = f"/api/accounts/{self.srv.account}/inboxes/{inbox}/messages"
        [message] = [m for m in self.srv.ok("GET", base) if m["subject"] == "DNS records for setup.dt.test"]
        self.assertEqual(message["to_email"], "ops@example.com")
        self.assertRegex(message["from_email"], r"^postroom@[a-z0-9.-]+$")
        status, text, _ = self.srv.inst.request("GET", f"{base}/{message['id']}/body.txt", self.srv.token)
        self.assertEqual(status, 200)
        text = text.decode()
        for record in domain["dns_records"]:
            self.assertIn(record["value"], text, record["key"])
            self.assertIn(record["domain"], text, record["key"])
        self.assertIn("BIND", text)
        status, html, _ = self.srv.inst.request("GET", f"{base}/{message['id']}/body.html", self.srv.token)
        self.assertEqual(status, 200)
        self.assertIn(b"setup.dt.test", html)

        # A second email reuses the same sandbox.
        self.assertEqual(self.srv.api("POST", path, {"email": "second@example.com"})[0], 204)
        self.assertEqual(self.system_inbox(), inbox)
        recipients = sorted(m["to_email"] for m in self.srv.ok("GET", base) if "setup.dt.test" in m["subject"])
        self.assertEqual(recipients, ["ops@example.com", "second@example.com"])

        for bad in ("not-an-email", "", "a@b", "ops@example.com\r\nBcc: x@evil.test", "a@b.com, c@d.com",
                    "<a@b.com>", "x" * 300 + "@example.com"):
            with self.subTest(email=bad):
                status, error = self.srv.api("POST", path, {"email": bad})
                self.assertEqual((status, error), (422, {"errors": {"email": ["is invalid"]}}))
        self.assertEqual(self.srv.api("POST", path, {})[0], 422)
        self.assertEqual(self.srv.api("POST", path, {"email": 5})[0], 400)
        status, error = self.srv.api("POST", f"{self.srv.base}/999999/send_setup_instructions", {"email": "a@b.com"})
        self.assertEqual((status, error), (404, NOT_FOUND))
        self.assertEqual(len([m for m in self.srv.ok("GET", base) if "setup.dt.test" in m["subject"]]), 2,
                         "nothing was sent for a refused request")

    def test_demo_domain(self):
        [demo] = [d for d in self.srv.list() if d["demo"]]
        self.assertEqual((demo["domain_name"], demo["dns_verified"], demo["compliance_status"]),
                         ("demo.postroom.test", True, "demo"))
        self.assertRegex(demo["dns_verified_at"], ISO)
        self.assertEqual({r["status"] for r in demo["dns_records"]}, {"pass"})
        self.assertEqual(len([d for d in self.srv.list() if d["demo"]]), 1, "made once")
        checked = self.srv.verify(demo["id"])
        self.assertEqual((checked["dns_verified"], checked["compliance_status"]), (True, "demo"))
        status, error = self.srv.api("POST", f"{self.srv.base}/{demo['id']}/dkim_rotation")
        self.assertEqual((status, error), (422, {"errors": {"base": ["The demo domain's keys can't be rotated"]}}))
        status, error = self.srv.patch(demo["id"], {"auto_bcc": {"emails": ["a@example.com"]}})
        self.assertEqual((status, error), (422, {"errors": {"auto_bcc_emails": ["can't be used with a demo domain"]}}))


# ---- c, d: background re-checks


class BackgroundChecks(DomainTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        cls.srv = Server(cls.dns, "--domain-recheck-unverified", "1", "--domain-recheck-verified", "1")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def test_c_record_fixed_later_is_found_without_verify(self):
        domain = self.srv.create("late.dt.test")
        self.dns.publish(domain, skip=["dmarc"])
        checked = self.srv.verify(domain["id"])
        self.assert_only_broken(checked, "dmarc", "missing", "no TXT record at _dmarc.late.dt.test")
        self.dns.publish(domain)  # restarts dnsmasq on the same port with the DMARC record
        fixed = self.srv.poll(domain["id"], lambda d: d["dns_verified"])
        self.assert_all_pass(fixed)
        self.assertEqual((fixed["compliance_status"], fixed["dns_lost"]), ("compliant", False))
        self.assertRegex(fixed["dns_verified_at"], ISO)

    def test_d_verified_domain_losing_a_record_is_flagged_by_the_background_check(self):
        domain = self.srv.create("drop.dt.test")
        self.dns.publish(domain)
        self.assertTrue(self.srv.verify(domain["id"])["dns_verified"])
        self.dns.publish(domain, skip=["verification"])
        lost = self.srv.poll(domain["id"], lambda d: d["dns_lost"] and
                             records_by_key(d)["verification"]["status"] == "missing" and
                             records_by_key(d)["spf"]["status"] == "pass")
        self.assert_only_broken(lost, "verification", "missing", "no CNAME record at ")
        self.assertFalse(lost["dns_verified"])
        self.dns.publish(domain)
        back = self.srv.poll(domain["id"], lambda d: d["dns_verified"])
        self.assert_all_pass(back)
        self.assertEqual((back["dns_lost"], back["compliance_status"]), (False, "compliant"))


# ---- e: approval


class Approval(DomainTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        cls.srv = Server(cls.dns, "--require-domain-approval")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def verified_pending(self, name):
        domain = self.srv.create(name)
        self.dns.publish(domain)
        checked = self.srv.verify(domain["id"])
        self.assert_all_pass(checked)
        self.assertEqual((checked["dns_verified"], checked["compliance_status"]), (True, "pending"))
        return domain

    def test_e_viewers_and_domain_tokens_cannot_decide(self):
        domain = self.verified_pending("wait.dt.test")
        path = f"{self.srv.base}/{domain['id']}/compliance"
        for token in (domain["api_token"]["token"], self.srv.viewer_token()):
            status, _ = self.srv.api("POST", path, {"compliance_status": "compliant"}, token)
            self.assertEqual(status, 403)
        self.assertEqual(self.srv.get(domain["id"])["compliance_status"], "pending")

    def test_e_pending_until_the_owner_approves(self):
        domain = self.verified_pending("approve.dt.test")
        path = f"{self.srv.base}/{domain['id']}/compliance"
        # The installation's admin token (the bootstrap token, the most an API client can hold) decides.
        status, approved = self.srv.api("POST", path, {"compliance_status": "compliant"})
        self.assertEqual(status, 200, approved)
        self.assertEqual(approved["compliance_status"], "compliant")
        self.assertEqual(self.srv.verify(domain["id"])["compliance_status"], "compliant", "approval is kept")
        status, error = self.srv.api("POST", path, {"compliance_status": "maybe"})
        self.assertEqual(status, 422, error)
        self.assertEqual(self.srv.ok("POST", path, {"compliance_status": "suspended"})["compliance_status"],
                         "suspended")
        self.assertEqual(self.srv.verify(domain["id"])["compliance_status"], "suspended", "a suspension is sticky")


# ---- Server options: Ed25519 dual signing, sending IPs in SPF, a list of DNS servers


class Options(DomainTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        # The first server does not answer (nothing listens there): the second one must be asked.
        cls.srv = Server(cls.dns, "--dkim-ed25519", "--sending-ips", "192.0.2.10, 2001:db8::1",
                         dns_server=f"127.0.0.1:{free_port()},{cls.dns.server}")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def test_ed25519_key_and_sending_ips(self):
        domain = self.srv.create("dual.dt.test")
        self.assertEqual([r["key"] for r in domain["dns_records"]],
                         ["verification", "spf", "dkim1", "dkim2", "dkim_ed25519", "dmarc", "return_path",
                          "link_verification"])
        records = records_by_key(domain)
        self.assertEqual(records["spf"]["value"], f"v=spf1 include:{SPF_INCLUDE} ip4:192.0.2.10 ip6:2001:db8::1 ~all")
        ed = records["dkim_ed25519"]
        self.assertEqual((ed["domain"], ed["type"], ed["required"]), ("pred._domainkey.dual.dt.test", "TXT", True))
        self.assertRegex(ed["value"], r"^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$")
        self.dns.publish(domain, skip=["dkim_ed25519"])
        self.assert_only_broken(self.srv.verify(domain["id"]), "dkim_ed25519", "missing",
                                "no TXT record at pred._domainkey.dual.dt.test")
        # An RSA key where the Ed25519 one belongs.
        self.dns.publish(domain, replace={"dkim_ed25519": ("TXT", records["dkim1"]["value"])})
        self.assert_only_broken(self.srv.verify(domain["id"]), "dkim_ed25519", "fail",
                                "DKIM key type is k=rsa, expected k=ed25519")
        self.dns.publish(domain)
        verified = self.srv.verify(domain["id"])
        self.assert_all_pass(verified)
        self.assertEqual((verified["dns_verified"], verified["compliance_status"]), (True, "compliant"))


# ---- i, j, k: access, isolation, hostile input, names; company info


class DomainsApi(DomainTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        cls.srv = Server(cls.dns)

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def test_i_domain_token_reaches_only_its_domain(self):
        own = self.srv.create("own.dt.test")
        neighbour = self.srv.create("neighbour.dt.test")
        token = own["api_token"]
        self.assertEqual(token["name"], f"own.dt.test token {token['id']}")
        self.assertRegex(token["token"], TOKEN)
        self.assertNotIn("api_token", self.srv.get(own["id"]), "the secret is shown once")
        tok = token["token"]
        base = self.srv.base

        got = self.srv.get(own["id"], tok)
        self.assertEqual(got["permissions"], {"can_read": True, "can_update": True, "can_destroy": True})
        self.assertEqual(self.srv.ok("GET", f"/api/sending_domains/{own['id']}", token=tok)["id"], own["id"])
        status, patched = self.srv.patch(own["id"], {"open_tracking_enabled": False}, tok)
        self.assertEqual((status, patched["open_tracking_enabled"]), (200, False))
        info = {"name": "Own Ltd", "address": "1 Road", "city": "Town", "country": "US", "zip_code": "10001",
                "website_url": "https://own.dt.test", "info_level": "business"}
        self.srv.ok("POST", f"{base}/{own['id']}/company_info", {"company_info": info}, tok)
        self.assertEqual(self.srv.ok("GET", f"/api/domains/{own['id']}/company_info", token=tok)["data"]["name"],
                         "Own Ltd")
        self.assertEqual(self.srv.ok("PATCH", f"{base}/{own['id']}/company_info",
                                     {"company_info": {"city": "Village"}}, tok)["data"]["city"], "Village")
        self.assertEqual([d["id"] for d in self.srv.list(tok)], [own["id"]], "only its own domain is listed")
        self.assertEqual([d["id"] for d in self.srv.ok("GET", "/api/sending_domains", token=tok)["data"]], [own["id"]])

        # Account-level routes.
        self.assertEqual(self.srv.api("POST", base, {"sending_domain": {"domain_name": "sneaky.dt.test"}}, tok)[0], 403)
        self.assertEqual(self.srv.api("POST", f"/api/accounts/{self.srv.account}/projects",
                                      {"project": {"name": "x"}}, tok)[0], 403)
        # The neighbouring domain.
        for method, suffix, body in (("GET", "", None),
                                     ("PATCH", "", {"sending_domain": {"open_tracking_enabled": False}}),
                                     ("DELETE", "", None), ("POST", "/verify", None),
                                     ("GET", "/dns_records", None), ("POST", "/dkim_rotation", None),
                                     ("POST", "/send_setup_instructions", {"email": "a@example.com"}),
                                     ("GET", "/company_info", None),
                                     ("PATCH", "/company_info", {"company_info": {"city": "X"}})):
            with self.subTest(method=method, suffix=suffix):
                status, _ = self.srv.api(method, f"{base}/{neighbour['id']}{suffix}", body, tok)
                self.assertIn(status, DENIED)
        self.assertIn(self.srv.api("GET", f"/api/domains/{neighbour['id']}/company_info", token=tok)[0], DENIED)
        self.assertIn(self.srv.api("GET", f"/api/sending_domains/{neighbour['id']}", token=tok)[0], DENIED)
        after = self.srv.get(neighbour["id"])
        self.assertTrue(after["open_tracking_enabled"], "the neighbour is unchanged")
        self.assertEqual(self.srv.ok("GET", f"{base}/{neighbour['id']}/company_info")["data"]["city"], "Village",
                         "company information is the account's")

    def test_i_second_account_reaches_nothing(self):
        domain = self.srv.create("tenant-a.dt.test")
        other, tok = self.srv.second_account()
        base = f"{self.srv.base}/{domain['id']}"
        self.assertEqual(self.srv.api("GET", self.srv.base, token=tok)[0], 403)
        self.assertEqual(self.srv.api("POST", self.srv.base, {"sending_domain": {"domain_name": "x.dt.test"}}, tok)[0],
                         403)
        for method, suffix, body in (("GET", "", None),
                                     ("PATCH", "", {"sending_domain": {"open_tracking_enabled": False}}),
                                     ("DELETE", "", None), ("POST", "/verify", None), ("GET", "/dns_records", None),
                                     ("POST", "/dkim_rotation", None),
                                     ("POST", "/send_setup_instructions", {"email": "a@example.com"}),
                                     ("GET", "/company_info", None),
                                     ("POST", "/compliance", {"compliance_status": "suspended"})):
            with self.subTest(method=method, suffix=suffix):
                self.assertIn(self.srv.api(method, base + suffix, body, tok)[0], DENIED)
        # Through B's own paths the domain does not exist.
        self.assertEqual(self.srv.api("GET", f"/api/accounts/{other}/sending_domains/{domain['id']}", token=tok),
                         (404, NOT_FOUND))
        self.assertEqual(self.srv.api("GET", f"/api/sending_domains/{domain['id']}", token=tok), (404, NOT_FOUND))
        self.assertEqual(self.srv.api("GET", f"/api/domains/{domain['id']}/company_info", token=tok)[0], 404)
        self.assertEqual(self.srv.api("DELETE", f"/api/sending_domains/{domain['id']}", token=tok)[0], 404)
        own = self.srv.ok("GET", f"/api/accounts/{other}/sending_domains", token=tok)["data"]
        self.assertEqual([d["domain_name"] for d in own], ["demo.postroom.test"], "B sees only its own demo domain")
        unchanged = self.srv.get(domain["id"])
        self.assertEqual((unchanged["open_tracking_enabled"], unchanged["compliance_status"]), (True, "unverified_dns"))

    def test_i_viewer_reads_but_cannot_change(self):
        domain = self.srv.create("viewed.dt.test")
        tok = self.srv.viewer_token()
        got = self.srv.get(domain["id"], tok)
        self.assertEqual(got["permissions"], {"can_read": True, "can_update": False, "can_destroy": False})
        self.assertIn(domain["id"], [d["id"] for d in self.srv.list(tok)])
        self.assertEqual(self.srv.api("POST", f"{self.srv.base}/{domain['id']}/verify", token=tok)[0], 200)
        self.assertEqual(self.srv.patch(domain["id"], {"open_tracking_enabled": False}, tok)[0], 403)
        self.assertEqual(self.srv.api("DELETE", f"{self.srv.base}/{domain['id']}", token=tok)[0], 403)
        self.assertEqual(self.srv.api("POST", self.srv.base, {"sending_domain": {"domain_name": "v.dt.test"}}, tok)[0],
                         403)
        self.assertEqual(self.srv.api("POST", f"{self.srv.base}/{domain['id']}/send_setup_instructions",
                                      {"email": "a@example.com"}, tok)[0], 403)
        self.assertEqual(self.srv.api("POST", f"{self.srv.base}/{domain['id']}/dkim_rotation", token=tok)[0], 403)

    def test_j_hostile_settings_are_refused_and_nothing_is_stored(self):
        domain = self.srv.create("hostile.dt.test")
        settings = ("open_tracking_enabled", "click_tracking_enabled", "auto_unsubscribe_link_enabled",
                    "custom_domain_tracking_enabled", "bulk_unsubscribe_footer_enabled", "health_alerts_enabled",
                    "critical_alerts_enabled", "alert_recipient_email", "auto_bcc")
        before = {k: domain[k] for k in settings}
        refused = [  # fields, the error field
            ({"auto_bcc": {"header_name": "X-A\r\nBcc: x@y"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"header_name": "X-A\nBcc: x@y"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"header_value": "v\r\nBcc: x@y"}}, "auto_bcc_header_value"),
            ({"auto_bcc": {"header_value": "v\x00"}}, "auto_bcc_header_value"),
            ({"auto_bcc": {"header_name": "Bcc"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"header_name": "Subject"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"header_name": "X-Two Words"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"header_name": "X-A:b"}}, "auto_bcc_header_name"),
            ({"auto_bcc": {"emails": ["not-an-email"]}}, "auto_bcc_emails"),
            ({"auto_bcc": {"emails": ["a@example.com\r\nBcc: x@evil.test"]}}, "auto_bcc_emails"),
            ({"auto_bcc": {"emails": ["a@example.com, b@example.com"]}}, "auto_bcc_emails"),
            ({"auto_bcc": {"emails": [f"u{i}@example.com" for i in range(11)]}}, "auto_bcc_emails"),
            ({"alert_recipient_email": "nope"}, "alert_recipient_email"),
            ({"alert_recipient_email": "a@example.com\nBcc: x@evil.test"}, "alert_recipient_email"),
            # A valid change next to an invalid one is not applied either.
            ({"open_tracking_enabled": False, "auto_bcc": {"emails": ["a@example.com"], "header_name": "To"}},
             "auto_bcc_header_name"),
        ]
        for fields, field in refused:
            with self.subTest(fields=fields):
                status, error = self.srv.patch(domain["id"], fields)
                self.assertEqual(status, 422, error)
                self.assertEqual(list(error["errors"]), [field], error)
                self.assertTrue(error["errors"][field][0], error)
        bad_requests = [
            {"sending_domain": {"open_tracking_enabled": "yes"}},
            {"sending_domain": {"auto_bcc": {"emails": "a@example.com"}}},
            {"sending_domain": {"auto_bcc": {"emails": [5]}}},
            {"sending_domain": {"auto_bcc": {"header_name": 5}}},
            {"sending_domain": {"alert_recipient_email": 5}},
            {"sending_domain": "open"},
        ]
        for body in bad_requests:
            with self.subTest(body=body):
                status, error = self.srv.api("PATCH", f"{self.srv.base}/{domain['id']}", body)
                self.assertEqual(status, 400, error)
                self.assertTrue(error["error"], error)
        for raw in ("not json{", "[]", '"x"', "{\"sending_domain\": {"):
            with self.subTest(raw=raw):
                status, error = self.srv.api("PATCH", f"{self.srv.base}/{domain['id']}", raw=raw)
                self.assertEqual(status, 400, error)
                self.assertTrue(error["error"], error)
        after = self.srv.get(domain["id"])
        self.assertEqual({k: after[k] for k in settings}, before, "nothing was stored")

    def test_j_hostile_domain_names_are_refused_and_nothing_is_stored(self):
        count = len(self.srv.list())
        invalid = "Validation failed: Domain name is not a valid domain name"
        cases = [
            ("a" * 100_000 + ".com", "Validation failed: Domain name is too long (maximum is 253 characters)"),
            ("evil.dt.test\r\nX-Injected: 1", invalid),
            ("exa mple.dt.test", invalid),
            ("<script>.dt.test", invalid),
            ("bücher.dt.test", invalid),
            ("under_score.dt.test", invalid),
            ("-lead.dt.test", invalid),
            ("trail-.dt.test", invalid),
            ("a..b.dt.test", invalid),
            (".dt.test", invalid),
            ("x" * 64 + ".dt.test", invalid),
            ("localhost", invalid),
            ("1.2.3.4", invalid),
            ("demo.postroom.test", "Validation failed: Domain name is reserved for the demo domain"),
        ]
        for name, message in cases:
            with self.subTest(name=name[:40]):
                status, error = self.srv.api("POST", self.srv.base, {"sending_domain": {"domain_name": name}})
                self.assertEqual((status, error), (422, {"errors": {"base": [message]}}))
        for raw in ("not json", "[1]", '{"sending_domain": "x.dt.test"}', '{"sending_domain": {"domain_name": 5}}',
                    '{"sending_domain": {"domain_name": ["a.dt.test"]}}'):
            with self.subTest(raw=raw):
                status, error = self.srv.api("POST", self.srv.base, raw=raw)
                self.assertEqual(status, 400, error)
                self.assertTrue(error["error"])
        self.assertEqual(len(self.srv.list()), count, "nothing was stored")

    def test_j_settings_persist_across_kill_9(self):
        domain = self.srv.create("persist.dt.test")
        fields = {"open_tracking_enabled": False, "click_tracking_enabled": True,
                  "auto_unsubscribe_link_enabled": True, "bulk_unsubscribe_footer_enabled": False,
                  "health_alerts_enabled": False, "critical_alerts_enabled": False,
                  "alert_recipient_email": "alerts@example.com",
                  "auto_bcc": {"emails": ["archive@example.com", "audit@example.org"],
                               "header_name": "X-Postroom-Archive", "header_value": "copy; v=1"}}
        status, patched = self.srv.patch(domain["id"], fields)
        self.assertEqual(status, 200, patched)
        for key, value in fields.items():
            self.assertEqual(patched[key], value, key)
        self.assertTrue(patched["custom_domain_tracking_enabled"], "click tracking turns the tracking domain on")
        self.assertTrue(records_by_key(patched)["link_verification"]["required"], "so its CNAME is now required")
        # A partial update keeps the rest.
        status, partial = self.srv.patch(domain["id"], {"health_alerts_enabled": True})
        self.assertEqual((status, partial["health_alerts_enabled"], partial["auto_bcc"]),
                         (200, True, fields["auto_bcc"]))

        self.srv.restart(signal.SIGKILL)
        after = self.srv.get(domain["id"])
        for key, value in fields.items():
            if key != "health_alerts_enabled":
                self.assertEqual(after[key], value, key)
        self.assertTrue(after["health_alerts_enabled"])
        published = [(r["key"], r["domain"], r["type"], r["value"], r["required"]) for r in partial["dns_records"]]
        self.assertEqual([(r["key"], r["domain"], r["type"], r["value"], r["required"]) for r in after["dns_records"]],
                         published, "the same records and keys (statuses may have been checked meanwhile)")
        # The domain token still works after the restart; null clears the alert address.
        status, cleared = self.srv.patch(domain["id"], {"alert_recipient_email": None,
                                                        "auto_bcc": {"emails": [], "header_name": ""}},
                                         domain["api_token"]["token"])
        self.assertEqual(status, 200, cleared)
        self.assertEqual((cleared["alert_recipient_email"], cleared["auto_bcc"]["emails"],
                          cleared["auto_bcc"]["header_name"], cleared["auto_bcc"]["header_value"]),
                         (None, [], "", "copy; v=1"))

    def test_k_public_mailbox_domains_and_www_are_refused(self):
        count = len(self.srv.list())
        public = "Validation failed: Domain name {} is a public mailbox domain; add a domain you own"
        cases = [
            ("gmail.com", public.format("gmail.com")),
            ("GMAIL.com.", public.format("gmail.com")),
            ("mail.yahoo.com", public.format("mail.yahoo.com")),
            ("outlook.com", public.format("outlook.com")),
            ("proton.me", public.format("proton.me")),
            ("icloud.com", public.format("icloud.com")),
            ("www.example.org", "Validation failed: Domain name must not start with www. (add example.org instead)"),
            ("WWW.Example.ORG.", "Validation failed: Domain name must not start with www. (add example.org instead)"),
            ("", "Validation failed: Domain name can't be blank"),
            ("   ", "Validation failed: Domain name can't be blank"),
            (".", "Validation failed: Domain name can't be blank"),
        ]
        for name, message in cases:
            with self.subTest(name=name):
                status, error = self.srv.api("POST", self.srv.base, {"sending_domain": {"domain_name": name}})
                self.assertEqual((status, error), (422, {"errors": {"base": [message]}}))
        for body in ({}, {"sending_domain": {}}):
            status, error = self.srv.api("POST", self.srv.base, body)
            self.assertEqual((status, error),
                             (422, {"errors": {"base": ["Validation failed: Domain name can't be blank"]}}))
        self.assertEqual(len(self.srv.list()), count)
        # Look-alikes of mailbox providers are ordinary domains.
        self.assertEqual(self.srv.create("notgmail.com")["domain_name"], "notgmail.com")

    def test_k_names_are_normalized(self):
        created = self.srv.create("  Norm.DT.Test. ")
        self.assertEqual(created["domain_name"], "norm.dt.test")
        self.assertEqual(created["api_token"]["name"], f"norm.dt.test token {created['api_token']['id']}")
        for record in created["dns_records"]:
            self.assertTrue(record["domain"] == "norm.dt.test" or record["domain"].endswith(".norm.dt.test"), record)
        for again in ("norm.dt.test", "NORM.dt.test.", " norm.DT.test"):
            with self.subTest(name=again):
                status, error = self.srv.api("POST", self.srv.base, {"sending_domain": {"domain_name": again}})
                self.assertEqual((status, error),
                                 (422, {"errors": {"base": ["Validation failed: Domain name has already been taken"]}}))

    def test_delete_then_add_again(self):
        created = self.srv.create("again.dt.test")
        path = f"{self.srv.base}/{created['id']}"
        status, body, _ = self.srv.inst.request("DELETE", path, self.srv.token)
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.srv.api("GET", path), (404, NOT_FOUND))
        self.assertEqual(self.srv.api("DELETE", path), (404, NOT_FOUND))
        self.assertEqual(self.srv.api("POST", path + "/verify"), (404, NOT_FOUND))
        self.assertEqual(self.srv.api("PATCH", path, {"sending_domain": {"open_tracking_enabled": False}}),
                         (404, NOT_FOUND))
        self.assertNotIn(created["id"], [d["id"] for d in self.srv.list()])
        self.assertIn(self.srv.api("GET", path, token=created["api_token"]["token"])[0], DENIED)
        readded = self.srv.create("again.dt.test")
        self.assertNotEqual(readded["id"], created["id"])
        self.assertNotEqual(readded["dns_records"], created["dns_records"], "new token label and keys")
        self.assertIn(self.srv.api("GET", f"{self.srv.base}/{readded['id']}", token=created["api_token"]["token"])[0],
                      DENIED, "the deleted domain's token does not reach the new one")
        for missing in ("999999", "-1", "0", "abc"):
            with self.subTest(id=missing):
                self.assertEqual(self.srv.api("GET", f"{self.srv.base}/{missing}")[0], 404)


class CompanyInfo(unittest.TestCase):
    INFO = {"name": "Mailtrap", "address": "123 Main St", "city": "San Francisco", "country": "US",
            "zip_code": "94105", "website_url": "https://mailtrap.io", "info_level": "business"}
    DATA = {"name": "Mailtrap", "address": "123 Main St", "city": "San Francisco", "country": "US", "phone": None,
            "zip_code": "94105", "privacy_policy_url": None, "terms_of_service_url": None,
            "website_url": "https://mailtrap.io", "info_level": "business"}

    @classmethod
    def setUpClass(cls):
        cls.dns = Dns()
        cls.srv = Server(cls.dns)
        cls.domain = cls.srv.create("company.dt.test")
        cls.path = f"{cls.srv.base}/{cls.domain['id']}/company_info"

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cls.dns.close()

    def send(self, method, fields, path=None):
        return self.srv.api(method, path or self.path, {"company_info": fields})

    def test_1_lifecycle(self):
        self.assertEqual(self.srv.api("GET", self.path), (404, NOT_FOUND), "nothing saved yet")
        self.assertEqual(self.send("PATCH", {"city": "X"}), (404, NOT_FOUND), "nothing to update yet")
        missing = {k: v for k, v in self.INFO.items() if k not in ("website_url", "info_level")}
        self.assertEqual(self.send("POST", missing),
                         (422, {"errors": {"website_url": ["can't be blank", "is invalid"]}}))
        self.assertEqual(self.srv.api("GET", self.path), (404, NOT_FOUND), "a refused create stores nothing")

        self.assertEqual(self.send("POST", self.INFO), (200, {"data": self.DATA}))
        other = self.srv.create("company2.dt.test")
        for path in (self.path, f"/api/sending_domains/{self.domain['id']}/company_info",
                     f"/api/domains/{self.domain['id']}/company_info", f"/api/domains/{other['id']}/company_info"):
            with self.subTest(path=path):
                self.assertEqual(self.srv.api("GET", path), (200, {"data": self.DATA}))

        updated = dict(self.DATA, city="New York", zip_code="10001")
        self.assertEqual(self.send("PATCH", {"city": "New York", "zip_code": "10001"}), (200, {"data": updated}))
        self.assertEqual(self.srv.api("GET", self.path), (200, {"data": updated}))
        extras = {"phone": "+1 555 0100", "privacy_policy_url": "https://mailtrap.io/privacy",
                  "terms_of_service_url": "https://mailtrap.io/terms"}
        updated.update(extras)
        self.assertEqual(self.send("PATCH", extras, f"/api/domains/{self.domain['id']}/company_info"),
                         (200, {"data": updated}))

        refused = [
            ({"info_level": "individual"}, {"info_level": ["can't be changed once submitted"]}),
            ({"info_level": "corporation"}, {"info_level": ["is not included in the list",
                                                            "can't be changed once submitted"]}),
            ({"website_url": "ftp://mailtrap.io"}, {"website_url": ["is invalid"]}),
            ({"website_url": "javascript:alert(1)"}, {"website_url": ["is invalid"]}),
            ({"privacy_policy_url": "https://bad url.example"}, {"privacy_policy_url": ["is invalid"]}),
            ({"name": ""}, {"name": ["can't be blank"]}),
            ({"favourite_color": "blue"}, {"favourite_color": ["is not a known attribute"]}),
            ({"address": "x" * 501}, {"address": ["is too long (maximum is 500 characters)"]}),
        ]
        for fields, errors in refused:
            with self.subTest(fields=str(fields)[:60]):
                self.assertEqual(self.send("PATCH", fields), (422, {"errors": errors}))
        for fields in ({"name": 5}, {"city": ["a"]}):
            self.assertEqual(self.send("PATCH", fields)[0], 400)
        self.assertEqual(self.srv.api("PATCH", self.path, raw="{oops")[0], 400)
        self.assertEqual(self.srv.api("GET", self.path), (200, {"data": updated}), "refused changes store nothing")
        # Clearing an optional field.
        self.assertEqual(self.send("PATCH", {"phone": None})[1]["data"]["phone"], None)

        for path in (f"{self.srv.base}/999999/company_info", f"{self.srv.base}/-1/company_info",
                     "/api/domains/999999/company_info"):
            for method in ("GET", "POST", "PATCH"):
                with self.subTest(path=path, method=method):
                    self.assertEqual(self.send(method, self.INFO, path) if method != "GET"
                                     else self.srv.api("GET", path), (404, NOT_FOUND))

    def test_2_create_validates_the_fields_it_is_given(self):
        # The recording (Mailtrap_CompanyInfoAPI/_create/when_required_field_is_missing, made nine minutes after the
        # account's company information was created) answers a create without website_url with 422, whatever was
        # saved before.
        self.send("POST", self.INFO)
        missing = {k: v for k, v in self.INFO.items() if k not in ("website_url", "info_level")}
        self.assertEqual(self.send("POST", missing),
                         (422, {"errors": {"website_url": ["can't be blank", "is invalid"]}}))


if __name__ == "__main__":
    unittest.main()
