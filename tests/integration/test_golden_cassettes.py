"""Replays the real API's recorded requests (the Ruby SDK's VCR cassettes in the shared reference folder) for
accounts, account accesses, permissions, API tokens, billing and sub-accounts against Postroom, and compares
status, Content-Type and the JSON shape (keys and value types, recursively) with the recorded responses."""

import base64
import glob
import json
import os
import re
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import Installation  # noqa: E402

SHARED = os.environ.get("POSTROOM_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
CASSETTES = os.path.join(SHARED, "reference", "cassettes")
FAMILIES = ["Mailtrap_AccountsAPI", "Mailtrap_AccountAccessesAPI", "Mailtrap_PermissionsAPI", "Mailtrap_ApiTokensAPI",
            "Mailtrap_BillingAPI", "Mailtrap_SubAccountsAPI", "Mailtrap_ProjectsAPI", "Mailtrap_InboxesAPI"]
RECORDED_ACCOUNT, RECORDED_ORG, RECORDED_REAL_ACCOUNT = "1111111", "2222222", "1719941"
MISSING_ID = "999999999"
# Values the real API and Postroom both may leave null where the other has a number or a time.
NULLABLE_KEYS = {"limit", "expires_at", "last_message_sent_at"}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)).decode(
    "utf-8", "replace"))


def load_cassette(path):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)["http_interactions"]


def shape_differences(expected, actual, where="$", key=None):
    """Lists where `actual` differs from `expected` in keys or value types."""
    if expected is None or actual is None:
        if expected is None and actual is None:
            return []
        if key in NULLABLE_KEYS and isinstance(expected if actual is None else actual, (int, str)):
            return []
        return [f"{where}: expected {type(expected).__name__}, got {type(actual).__name__}"]
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if type(expected) is type(actual) else [f"{where}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return []
    if type(expected) is not type(actual):
        return [f"{where}: expected {type(expected).__name__}, got {type(actual).__name__}"]
    if isinstance(expected, dict):
        problems = []
        if set(expected) != set(actual):
            problems.append(f"{where}: keys {sorted(expected)} != {sorted(actual)}")
        for k in set(expected) & set(actual):
            problems += shape_differences(expected[k], actual[k], f"{where}.{k}", k)
        return problems
    if isinstance(expected, list) and expected and actual:
        return shape_differences(expected[0], actual[0], f"{where}[0]", key)
    return []


class GoldenCassettes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation()
        cls.boot = cls.inst.bootstrap()
        cls.inst.start()
        cls.token = cls.boot["api_token"]

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def new_token(self, name="golden"):
        status, body, _ = self.inst.request("POST", "/api/api_tokens", self.token, {
            "name": name, "resources": [{"resource_type": "account", "resource_id": self.boot["account_id"],
                                         "access_level": 100}]})
        self.assertEqual(status, 200, body)
        return body

    def access_id_of_token(self, token_id):
        rows = self.inst.query("SELECT id FROM account_accesses WHERE specifier_type = 'ApiToken' AND specifier_id = ?",
                               int(token_id))
        return rows[0][0]

    def new_inbox(self):
        status, body, _ = self.inst.request("POST", f"/api/projects/{self.boot['project_id']}/inboxes", self.token,
                                            {"inbox": {"name": "Golden Inbox"}})
        self.assertEqual(status, 200, body)
        return body

    def rewrite(self, text, cassette):
        """Maps the recorded account, organization and object ids onto this installation's."""
        account = str(self.boot["account_id"])
        text = text.replace(RECORDED_ACCOUNT, account).replace(RECORDED_REAL_ACCOUNT, account)
        text = text.replace(RECORDED_ORG, str(self.boot["organization_id"]))
        not_found = "not_found" in cassette or "does_not_exist" in cassette
        # Recorded object ids: existing ones become real objects made now, missing ones an id nobody has.
        for recorded in re.findall(r"/(?:api_tokens|account_accesses)/(\d{4,})", text):
            if not_found:
                replacement = MISSING_ID
            elif "/account_accesses/" in text:
                replacement = self.access_id_of_token(self.new_token("access fixture")["id"])
            else:
                replacement = str(self.new_token("Ruby SDK Test Token")["id"])
            text = text.replace(recorded, replacement)
        # Projects and inboxes: ids created earlier in this cassette map to the ones Postroom made; other recorded
        # projects are the bootstrap project, other inboxes a fresh one (the cassette may delete it).
        for kind, recorded in re.findall(r"/(projects|inboxes)/(\d{4,})", text):
            if recorded not in self.ids:
                if not_found:
                    self.ids[recorded] = MISSING_ID
                elif kind == "projects":
                    self.ids[recorded] = str(self.boot["project_id"])
                else:
                    self.ids[recorded] = str(self.new_inbox()["id"])
        for recorded, replacement in self.ids.items():
            text = text.replace(recorded, replacement)
        return text

    def replay(self, path):
        name = os.path.relpath(path, CASSETTES)
        self.ids = {}  # recorded project/inbox id → Postroom's, for this cassette
        for interaction in load_cassette(path):
            request, recorded = interaction["request"], interaction["response"]
            url = self.rewrite(request["uri"], name)
            target = re.sub(r"^https://[^/]+", "", url)
            body = request.get("body", {}).get("string") or None
            if body:
                body = self.rewrite(body, name)
            token = "wrong-token-" + "0" * 40 if "authorization_error" in name else self.token
            status, actual, headers = self.inst.request(request["method"].upper(), target, token, raw_body=body)
            expected_status = recorded["status"]["code"]
            self.assertEqual(status, expected_status, f"{name}: {request['method']} {target} → {actual!r}")
            if status == 204:
                self.assertEqual(actual, b"", "204 has an empty body")
                continue
            # Postroom always answers JSON (the recorded 400 of a nameless sub-account was text/html).
            self.assertEqual(headers.get("content-type"), "application/json; charset=utf-8", name)
            recorded_body = recorded["body"].get("string") or ""
            recorded_type = (recorded["headers"].get("Content-Type") or [""])[0]
            if "json" not in recorded_type:
                self.assertIsInstance(actual, (dict, list), name)
                continue
            expected = json.loads(recorded_body)
            if request["method"] == "post" and "/projects" in request["uri"] and isinstance(expected, dict) \
                    and isinstance(actual, dict) and "id" in expected and "id" in actual:
                self.ids[str(expected["id"])] = str(actual["id"])
            if "AccountAccessesAPI/_list/maps" in name:
                # The recording holds an Invite, which Postroom cannot create yet: compare the User entry.
                expected = [e for e in expected if e["specifier_type"] == "User"]
                actual = [a for a in actual if a["specifier_type"] == "User"]
                self.assertTrue(actual, "the bootstrap admin is listed")
            problems = shape_differences(expected, actual)
            self.assertEqual(problems, [], f"{name}\nrecorded: {expected}\npostroom: {actual}")


def _make_test(path):
    def test(self):
        self.replay(path)
    return test


_paths = sorted(p for family in FAMILIES for p in glob.glob(os.path.join(CASSETTES, family, "**", "*.yml"),
                                                               recursive=True))
for _path in _paths:
    _name = "test_" + re.sub(r"\W+", "_", os.path.relpath(_path, CASSETTES)[len("Mailtrap_"):-4]).lower()
    setattr(GoldenCassettes, _name, _make_test(_path))


class CassettesArePresent(unittest.TestCase):
    def test_all_six_families_were_found(self):
        self.assertGreaterEqual(len(_paths), 23, f"cassettes not found under {CASSETTES}")


if __name__ == "__main__":
    unittest.main()
