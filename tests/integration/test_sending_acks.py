"""The send API answers from the commit (a 200 only once the message is durable) without holding a request
thread while it waits: many connections' sends share commits even with one worker thread, every 200's message
is stored — also when the server is killed with SIGKILL in the middle of a burst — and a batch answers each
message in order. Against the real binary, on SQLite or PostgreSQL (POSTROOM_TEST_DATABASE)."""

import http.client
import json
import os
import re
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import DATABASE, Installation, free_port  # noqa: E402

DEMO_FROM = "app@demo.postroom.test"  # the account's demo domain sends to the account's own users
ADMIN = "admin@postroom.local"


def message(subject):
    return {"from": {"email": DEMO_FROM}, "to": [{"email": ADMIN}], "subject": subject, "text": "Hello " * 200}


class Sender(threading.Thread):
    """Sends on one keep-alive connection until `count` sends are done or `stop` is set; keeps each 200's ids."""

    def __init__(self, port, token, subject, count=None, stop=None):
        super().__init__(daemon=True)
        self.port, self.token, self.subject, self.count, self.stop = port, token, subject, count, stop
        self.ids, self.statuses, self.error = [], [], None

    def run(self):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        body = json.dumps(message(self.subject))
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            while (self.count is None or len(self.statuses) < self.count) and not (self.stop and self.stop.is_set()):
                conn.request("POST", "/api/send", body=body, headers=headers)
                response = conn.getresponse()
                data = json.loads(response.read())
                self.statuses.append(response.status)
                if response.status == 200:
                    self.ids.extend(data["message_ids"])
            conn.close()
        except (OSError, http.client.HTTPException) as e:  # the server went away mid-request
            self.error = e


def metric(text, name):
    match = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(match.group(1)) if match else 0


class SendingAcks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation()
        cls.boot = cls.inst.bootstrap()
        cls.token = cls.boot["api_token"]
        # Deliveries go to a port nobody listens on: they soft-bounce, the accepted rows stay.
        cls.args = ("--worker-threads", "1", "--relay", f"smtp://127.0.0.1:{free_port()}", "--relay-tls", "none",
                    "--rate-limit-requests", "1000000")
        cls.inst.start(*cls.args)

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def stored(self, subject):
        rows = self.inst.query("SELECT uuid FROM sent_messages WHERE subject = ?", subject)
        return {row[0] for row in rows}

    def storage_counters(self):
        _, body, _ = self.inst.request("GET", "/metrics")
        text = body.decode() if isinstance(body, bytes) else str(body)
        return metric(text, "postroom_storage_write_jobs_total"), metric(text, "postroom_storage_commits_total")

    def test_concurrent_sends_share_commits_and_every_200_is_stored(self):
        subject = f"concurrent {time.time()}"
        jobs_before, commits_before = self.storage_counters()
        senders = [Sender(self.inst.port, self.token, subject, count=15) for _ in range(24)]
        for s in senders:
            s.start()
        for s in senders:
            s.join(120)
        self.assertTrue(all(s.error is None for s in senders), [s.error for s in senders if s.error])
        statuses = [status for s in senders for status in s.statuses]
        self.assertEqual(statuses, [200] * 360)
        ids = {i for s in senders for i in s.ids}
        self.assertEqual(len(ids), 360)
        self.assertEqual(self.stored(subject), ids)
        if DATABASE == "sqlite":
            # With one worker thread a send that held its thread until the commit would make one commit per send;
            # answering from the commit lets the 24 connections' sends share them.
            jobs, commits = self.storage_counters()
            self.assertGreaterEqual(jobs - jobs_before, 360)
            self.assertLess(commits - commits_before, 360 / 2, (jobs - jobs_before, commits - commits_before))

    def test_a_batch_answers_every_message_in_order(self):
        subject = f"batch {time.time()}"
        requests = [{"to": [{"email": ADMIN}]} for _ in range(40)]
        requests[7] = {"to": [{"email": "not an address"}]}
        requests[20] = {"to": [{"email": "stranger@example.com"}]}  # the demo domain refuses non-users
        status, body, _ = self.inst.request("POST", "/api/batch", self.token, {
            "base": {"from": {"email": DEMO_FROM}, "subject": subject, "text": "Batch"}, "requests": requests})
        self.assertEqual(status, 200, body)
        responses = body["responses"]
        self.assertEqual(len(responses), 40)
        for i, response in enumerate(responses):
            self.assertEqual(response["success"], i not in (7, 20), (i, response))
        self.assertIn("demo domain", responses[20]["errors"][0])
        ids = {r["message_ids"][0] for r in responses if r["success"]}
        self.assertEqual(len(ids), 38)
        self.assertEqual(self.stored(subject), ids)

    def test_every_200_survives_a_kill_9_in_the_middle_of_a_burst(self):
        subject = f"killed {time.time()}"
        stop = threading.Event()
        senders = [Sender(self.inst.port, self.token, subject, stop=stop) for _ in range(16)]
        for s in senders:
            s.start()
        deadline = time.time() + 30
        while sum(len(s.ids) for s in senders) < 300 and time.time() < deadline:
            time.sleep(0.01)
        self.inst.stop(signal.SIGKILL)  # sends are in flight: some got their 200, some never will
        stop.set()
        for s in senders:
            s.join(30)
        acknowledged = {i for s in senders for i in s.ids}
        self.assertGreaterEqual(len(acknowledged), 300)
        self.inst.start(*self.args)
        missing = acknowledged - self.stored(subject)
        self.assertEqual(missing, set(), f"{len(missing)} acknowledged messages were not stored")


if __name__ == "__main__":
    unittest.main()
