"""Email Sandbox end to end, the parts a UI or a test suite watches: the live event stream (server-sent
events) and the stored summary of real messages, compared with what Python's email package reads from them."""

import http.client
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from sandbox_harness import SHARED, Sandbox, deliver, make_message, normalize_crlf, queued_id  # noqa: E402

ORACLE = os.path.join(os.path.dirname(__file__), "..", "mime_expected.py")
DIFFERENCES = os.path.join(os.path.dirname(__file__), "..", "mime_corpus_differences.tsv")


class EventStream:
    """Reads a text/event-stream response on a thread and queues its events as (event, data) pairs."""

    def __init__(self, port, path, token, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {token}", **(headers or {})})
        self.response = self.conn.getresponse()
        self.events = queue.Queue()
        if self.response.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event, data = None, None
        try:
            while True:
                line = self.response.fp.readline()
                if not line:
                    self.events.put(("closed", None))
                    return
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and event:
                    self.events.put((event, data))
                    event, data = None, None
        except (OSError, ValueError):
            self.events.put(("closed", None))

    def next(self, timeout=10):
        return self.events.get(timeout=timeout)

    def close(self):
        self.conn.close()


class SandboxEventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox(smtps=False)

    @classmethod
    def tearDownClass(cls):
        cls.sb.close()

    def stream(self, path, headers=None):
        s = EventStream(self.sb.inst.port, path, self.sb.token, headers)
        self.addCleanup(s.close)
        return s

    def test_arrivals_updates_and_deletions_stream_live(self):
        inbox = self.sb.create_inbox("Live")
        other = self.sb.create_inbox("Elsewhere")
        one = self.stream(self.sb.inbox_path(inbox["id"]) + "/events")
        whole_account = self.stream(f"/api/accounts/{self.sb.account}/sandbox_events")
        self.assertEqual(one.response.status, 200)
        self.assertTrue(one.response.getheader("Content-Type").startswith("text/event-stream"))
        time.sleep(0.2)  # the subscriptions are made while the heads are written

        with self.sb.smtp(other) as client:
            other_id = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("elsewhere")))
        with self.sb.smtp(inbox) as client:
            mid = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], make_message("live one")))
        self.assertEqual(one.next(), ("message.created", {"type": "message.created", "inbox_id": inbox["id"],
                                                          "message_id": mid}),
                         "the sandbox stream carries only its own sandbox")
        self.assertEqual(whole_account.next()[1]["message_id"], other_id)
        self.assertEqual(whole_account.next()[1]["message_id"], mid)

        path = self.sb.inbox_path(inbox["id"]) + f"/messages/{mid}"
        self.sb.ok("PATCH", path, {"message": {"is_read": True}})
        self.assertEqual(one.next()[0], "message.updated")
        self.sb.ok("DELETE", path)
        self.assertEqual(one.next(), ("message.deleted", {"type": "message.deleted", "inbox_id": inbox["id"],
                                                          "message_id": mid}))
        self.sb.ok("PATCH", self.sb.inbox_path(inbox["id"]) + "/clean")
        self.assertEqual(one.next()[0], "inbox.cleaned")

        # Sandbox sending over HTTP announces the same way.
        self.sb.ok("POST", f"/api/send/{inbox['id']}", {"from": {"email": "a@example.com"},
                                                        "to": [{"email": "b@example.com"}],
                                                        "subject": "over http", "text": "hi"})
        self.assertEqual(one.next()[0], "message.created")

    def test_streams_check_origin_and_access(self):
        inbox = self.sb.create_inbox("Guarded")
        path = self.sb.inbox_path(inbox["id"]) + "/events"
        self.assertEqual(self.stream(path, {"Origin": "http://evil.example"}).response.status, 403)
        own_origin = f"http://127.0.0.1:{self.sb.inst.port}"
        self.assertEqual(self.stream(path, {"Origin": own_origin}).response.status, 200)
        self.assertEqual(EventStream(self.sb.inst.port, path, "not-a-token").response.status, 401)
        missing = self.sb.inbox_path(999999) + "/events"
        self.assertEqual(self.stream(missing).response.status, 404)

    def test_shutdown_ends_open_streams_at_once(self):
        sb = Sandbox(smtps=False)
        try:
            inbox = sb.boot["inbox_id"]
            stream = EventStream(sb.inst.port, sb.inbox_path(inbox) + "/events", sb.token)
            self.assertEqual(stream.response.status, 200)
            started = time.time()
            sb.inst.stop()
            self.assertEqual(stream.next(timeout=10), ("closed", None))
            self.assertLess(time.time() - started, 5, "an open event stream must not hold up shutdown")
        finally:
            sb.close()


class CorpusSummaryTest(unittest.TestCase):
    """Real-world messages captured over SMTP are summarized (subject, addresses, attachments) as Python's email
    package reads them. Files the MIME unit test lists as legitimately different, and files Python itself finds
    defects in, are left out."""

    def test_stored_summaries_match_python_email(self):
        root = os.path.join(SHARED, "testdata", "mime")
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".raw"))
        self.assertGreater(len(files), 50, root)
        with open(DIFFERENCES) as f:
            differing = {line.split("\t")[0] for line in f if line.strip() and not line.startswith("#")}
        files = [f for f in files if os.path.relpath(f, root) not in differing]
        # SMTP carries CRLF line ends, which changes the size of text attachments: the oracle reads the bytes
        # exactly as they are sent.
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        sent = {}
        for i, path in enumerate(files):
            with open(path, "rb") as f:
                sent[path] = normalize_crlf(f.read())
            with open(os.path.join(scratch.name, f"{i}.eml"), "wb") as f:
                f.write(sent[path])
        by_copy = json.loads(subprocess.run([sys.executable, ORACLE, scratch.name], check=True, capture_output=True,
                                            text=True).stdout)
        oracle = {path: by_copy[os.path.join(scratch.name, f"{i}.eml")] for i, path in enumerate(files)}
        comparable = [f for f in files if "error" not in oracle[f] and oracle[f]["defects"] == 0 and
                      all(isinstance(oracle[f][k], list) for k in ("from", "to", "cc"))]
        self.assertGreater(len(comparable), 40)
        sb = Sandbox(smtps=False, extra=("--sandbox-max-messages", "10000", "--sandbox-rate", "0",
                                        "--rate-limit-requests", "100000"))
        self.addCleanup(sb.close)
        inbox = sb.create_inbox("Corpus")
        ids = {}
        with sb.smtp(inbox, timeout=30) as client:
            for path in comparable:
                ids[path] = queued_id(deliver(client, "sam@example.com", ["rita@example.com"], sent[path]))
        for path in comparable:
            expected = oracle[path]
            with self.subTest(os.path.relpath(path, root)):
                message = sb.ok("GET", sb.inbox_path(inbox["id"]) + f"/messages/{ids[path]}")
                self.assertEqual(message["subject"], expected["subject"])
                self.assertEqual(message["from_email"], (expected["from"] or [""])[0])
                self.assertEqual(message["to_email"], (expected["to"] or [""])[0])
                stored = sb.ok("GET", sb.inbox_path(inbox["id"]) + f"/messages/{ids[path]}/attachments")
                self.assertEqual([a["filename"] for a in stored], [a["filename"] for a in expected["attachments"]])
                self.assertEqual([a["attachment_size"] for a in stored],
                                 [a["size"] if a["size"] is not None else s["attachment_size"]
                                  for a, s in zip(expected["attachments"], stored)])


if __name__ == "__main__":
    unittest.main()
