"""Email templates against the real binary: replays the real API's recorded Templates API cassettes
(Mailtrap_EmailTemplatesAPI) comparing status, Content-Type and JSON shape, then checks what the cassettes do not
show: Handlebars syntax errors with their position, field validation, tenant isolation and access levels."""

import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from postroom_harness import Installation  # noqa: E402
from test_golden_cassettes import CASSETTES, RECORDED_ACCOUNT, load_cassette, shape_differences  # noqa: E402

FAMILY = "Mailtrap_EmailTemplatesAPI"


class EmailTemplatesCassettes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Installation()
        cls.boot = cls.inst.bootstrap()
        cls.inst.start()
        cls.token = cls.boot["api_token"]
        cls.base = f"/api/accounts/{cls.boot['account_id']}/email_templates"

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def create(self, **fields):
        template = {"name": "T", "subject": "S", "category": "C", "body_html": "<p>H</p>", "body_text": "X"}
        template.update(fields)
        return self.inst.request("POST", self.base, self.token, {"email_template": template})

    def replay(self, path):
        name = os.path.relpath(path, CASSETTES)
        ids = {}  # recorded template id → Postroom's
        for interaction in load_cassette(path):
            request, recorded = interaction["request"], interaction["response"]
            target = re.sub(r"^https://[^/]+", "", request["uri"]).replace(RECORDED_ACCOUNT,
                                                                            str(self.boot["account_id"]))
            for recorded_id, actual_id in ids.items():
                target = re.sub(rf"/email_templates/{recorded_id}$", f"/email_templates/{actual_id}", target)
            body = (request.get("body") or {}).get("string") or None
            token = "wrong-token-" + "0" * 40 if "authorization_error" in name else self.token
            if request["method"] == "get" and target.endswith("/email_templates") and "authorization" not in name:
                self.create()  # the recorded list is not empty
            status, actual, headers = self.inst.request(request["method"].upper(), target, token, raw_body=body)
            self.assertEqual(status, recorded["status"]["code"], f"{name}: {request['method']} {target} → {actual!r}")
            if status == 204:
                self.assertEqual(actual, b"", "204 has an empty body")
                continue
            self.assertEqual(headers.get("content-type"), "application/json; charset=utf-8", name)
            expected = json.loads(recorded["body"]["string"])
            self.assertEqual(shape_differences(expected, actual), [], f"{name}\nrecorded: {expected}\npostroom: {actual}")
            if isinstance(expected, dict) and "id" in expected:
                if request["method"] == "post":
                    ids[str(expected["id"])] = str(actual["id"])
                # Everything but ids and times is the recorded value (PATCH keeps the fields it was not given).
                for key in ("name", "category", "subject", "body_html", "body_text"):
                    self.assertEqual(actual[key], expected[key], f"{name}: {key}")
            if isinstance(expected, dict) and "errors" in expected:
                self.assertEqual(actual, expected, name)

    def test_syntax_error_is_422_with_position(self):
        status, body, _ = self.create(body_html="<p>Hello\n{{#if user}}{{name}</p>")
        self.assertEqual(status, 422, body)
        [message] = body["errors"]["body_html"]
        self.assertIn("line 2, column", message)
        self.assertIn("Parse error", message)
        status, body, _ = self.create(subject="{{#each items}}x{{/with}}")
        self.assertEqual(status, 422, body)
        self.assertIn("each doesn't match with", body["errors"]["subject"][0])

    def test_required_and_length_validation(self):
        status, body, _ = self.inst.request("POST", self.base, self.token, {"email_template": {"name": "only"}})
        self.assertEqual(status, 422)
        self.assertEqual(body["errors"], {"subject": ["can't be blank"], "category": ["can't be blank"]})
        status, body, _ = self.create(name="x" * 256)
        self.assertEqual(status, 422)
        self.assertEqual(body["errors"], {"name": ["is too long (maximum is 255 characters)"]})

    def test_update_is_partial_and_rejects_broken_templates(self):
        status, created, _ = self.create(name="Partial", body_text="Hi {{name}}")
        self.assertEqual(status, 201)
        path = f"{self.base}/{created['id']}"
        status, body, _ = self.inst.request("PATCH", path, self.token, {"email_template": {"body_text": "{{oops"}})
        self.assertEqual(status, 422, body)
        status, body, _ = self.inst.request("GET", path, self.token)
        self.assertEqual(body["body_text"], "Hi {{name}}", "a rejected update changes nothing")
        status, body, _ = self.inst.request("PATCH", path, self.token, {"email_template": {"category": "New"}})
        self.assertEqual((status, body["category"], body["name"], body["uuid"]), (200, "New", "Partial", created["uuid"]))

    def test_token_scoped_alias_and_tenant_isolation(self):
        status, created, _ = self.create(name="Alias")
        status, body, _ = self.inst.request("GET", f"/api/email_templates/{created['id']}", self.token)
        self.assertEqual((status, body["uuid"]), (200, created["uuid"]))
        status, sub, _ = self.inst.request("POST", f"/api/organizations/{self.boot['organization_id']}/sub_accounts",
                                           self.token, {"account": {"name": "Other"}})
        self.assertEqual(status, 200, sub)
        other = f"/api/accounts/{sub['id']}/email_templates/{created['id']}"
        status, _, _ = self.inst.request("GET", other, self.token)
        self.assertEqual(status, 404, "another account's template is not found")

    def test_viewer_reads_but_cannot_change(self):
        account = self.boot["account_id"]
        status, token, _ = self.inst.request("POST", "/api/api_tokens", self.token, {
            "name": "templates viewer",
            "resources": [{"resource_type": "email_template", "resource_id": account, "access_level": 10}]})
        self.assertEqual(status, 200, token)
        viewer = token["token"]
        status, _, _ = self.inst.request("GET", self.base, viewer)
        self.assertEqual(status, 200)
        status, _, _ = self.inst.request("POST", self.base, viewer, {"email_template": {
            "name": "n", "subject": "s", "category": "c"}})
        self.assertEqual(status, 403)

    def test_preview_renders_a_draft_with_the_server_engine(self):
        self.create(name="footer", subject="f", body_html="<i>bye {{name}}</i>", body_text="bye")
        draft = {"name": "Welcome", "subject": "Hi {{name}}",
                 "body_html": '<p style="color:red">Hello {{name}}{{#if vip}} (VIP){{/if}}</p>{{> footer}}',
                 "body_text": "Hello {{name}}"}
        status, body, _ = self.inst.request("POST", f"{self.base}/preview", self.token,
                                            {"email_template": draft, "template_variables": {"name": "Ada <x>"}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["subject"], "Hi Ada &lt;x&gt;")
        self.assertEqual(body["html"], '<p style="color:red">Hello Ada &lt;x&gt;</p><i>bye Ada &lt;x&gt;</i>')
        self.assertEqual(body["text"], "Hello Ada &lt;x&gt;")
        self.assertEqual(body["variables"], ["name", "vip"])
        # The HTML as its own sandboxed document, for the editor's iframe; only for this account.
        status, html, headers = self.inst.request("GET", body["html_url"], self.token)
        self.assertEqual((status, html), (200, body["html"].encode()))
        self.assertTrue(headers["content-security-policy"].startswith("sandbox;"), headers)
        self.assertIn("frame-ancestors 'self'", headers["content-security-policy"])
        status, sub, _ = self.inst.request("POST", f"/api/organizations/{self.boot['organization_id']}/sub_accounts",
                                           self.token, {"account": {"name": "Previewless"}})
        other = body["html_url"].replace(f"/accounts/{self.boot['account_id']}/", f"/accounts/{sub['id']}/")
        status, _, _ = self.inst.request("GET", other, self.token)
        self.assertEqual(status, 404, "another account's preview")
        status, _, _ = self.inst.request("GET", body["html_url"][:-4] + "0000", self.token)
        self.assertEqual(status, 404, "an unknown preview token")

    def test_preview_reports_syntax_errors_at_their_line_and_saves_nothing(self):
        _, before, _ = self.inst.request("GET", self.base, self.token)
        status, body, _ = self.inst.request("POST", f"{self.base}/preview", self.token, {"email_template": {
            "subject": "ok", "body_html": "<p>\n{{#if a}}\n{{/each}}</p>"}})
        self.assertEqual(status, 422)
        self.assertEqual(body, {"errors": {"body_html": ["has a Handlebars syntax error at line 2, column 1: "
                                                         "if doesn't match each"]}})
        status, body, _ = self.inst.request("POST", f"{self.base}/preview", self.token, {
            "email_template": {"subject": "x"}, "template_variables": [1]})
        self.assertEqual((status, body), (422, {"errors": {"template_variables": ["must be an object"]}}))
        _, after, _ = self.inst.request("GET", self.base, self.token)
        self.assertEqual(len(after), len(before))


class EmailTemplatesLimit(unittest.TestCase):
    def test_two_hundred_templates_per_account(self):
        inst = Installation()
        try:
            boot = inst.bootstrap()
            inst.start("--rate-limit-requests", "1000")
            base = f"/api/accounts/{boot['account_id']}/email_templates"
            body = {"email_template": {"name": "n", "subject": "s", "category": "c"}}
            for i in range(200):
                status, created, _ = inst.request("POST", base, boot["api_token"], body)
                self.assertEqual(status, 201, (i, created))
            status, refused, _ = inst.request("POST", base, boot["api_token"], body)
            self.assertEqual(status, 422)
            self.assertIn("200", refused["errors"]["base"][0])
        finally:
            inst.close()

    def test_the_limit_is_configurable(self):
        inst = Installation()
        try:
            boot = inst.bootstrap()
            inst.start("--max-email-templates", "2")
            base = f"/api/accounts/{boot['account_id']}/email_templates"
            body = {"email_template": {"name": "n", "subject": "s", "category": "c"}}
            statuses = [inst.request("POST", base, boot["api_token"], body)[0] for _ in range(3)]
            self.assertEqual(statuses, [201, 201, 422])
        finally:
            inst.close()


def _make_test(path):
    def test(self):
        self.replay(path)
    return test


_paths = sorted(glob.glob(os.path.join(CASSETTES, FAMILY, "**", "*.yml"), recursive=True))
for _path in _paths:
    _name = "test_cassette_" + re.sub(r"\W+", "_", os.path.relpath(_path, os.path.join(CASSETTES, FAMILY))[:-4]).lower()
    setattr(EmailTemplatesCassettes, _name, _make_test(_path))


class CassettesArePresent(unittest.TestCase):
    def test_the_templates_family_was_found(self):
        self.assertGreaterEqual(len(_paths), 27, f"cassettes not found under {CASSETTES}/{FAMILY}")


if __name__ == "__main__":
    unittest.main()
