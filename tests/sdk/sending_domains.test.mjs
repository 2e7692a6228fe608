// Sending domains and company information through the official Node SDK (mailtrap 4.10.0, unmodified:
// `client.sendingDomains` on A/sending_domains, `client.companyInfo` on /api/domains/{id}/company_info) against the
// real postroom binary, checking that what the SDK gets back has the recorded shapes (the Ruby SDK's cassettes
// Mailtrap_SendingDomainsAPI and Mailtrap_CompanyInfoAPI).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPostroom, sdkClient, api, freePort } from "./harness.mjs";

let server;
let boot;
let client;

// Verification is not what this file tests: DNS checks (a GET schedules one) go to a loopback port nobody serves,
// never to the machine's resolver.
before(async () => {
  process.env.POSTROOM_DNS_SERVER = `127.0.0.1:${await freePort()}`;
  server = await startPostroom();
  boot = server.boot;
  client = sdkClient(server, { token: boot.api_token, accountId: boot.account_id });
});

after(async () => {
  await server.stop();
});

// The recorded domain object (WIRE-COMPATIBILITY §4.3) and Postroom's documented additions.
const RECORDED_DOMAIN_KEYS = [
  "alert_recipient_email", "auto_unsubscribe_link_enabled", "click_tracking_enabled", "compliance_status",
  "critical_alerts_enabled", "custom_domain_tracking_enabled", "demo", "dns_records", "dns_verified",
  "dns_verified_at", "domain_name", "health_alerts_enabled", "id", "inbound_enabled", "inbound_verified",
  "open_tracking_enabled", "permissions",
];
const POSTROOM_DOMAIN_KEYS = ["auto_bcc", "bulk_unsubscribe_footer_enabled", "dns_checked_at", "dns_lost"];
const DOMAIN_KEYS = [...RECORDED_DOMAIN_KEYS, ...POSTROOM_DOMAIN_KEYS].sort();
const RECORD_KEYS = ["domain", "key", "name", "status", "type", "value"]; // plus required, and reason/found
const STATUSES = ["unchecked", "pass", "fail", "missing", "network_error"];
const COMPANY_KEYS = [
  "address", "city", "country", "info_level", "name", "phone", "privacy_policy_url", "terms_of_service_url",
  "website_url", "zip_code",
];
// What the recording created and got back.
const COMPANY = {
  name: "Mailtrap", address: "123 Main St", city: "San Francisco", country: "US", zip_code: "94105",
  website_url: "https://mailtrap.io", info_level: "business",
};
const COMPANY_DATA = {
  name: "Mailtrap", address: "123 Main St", city: "San Francisco", country: "US", phone: null, zip_code: "94105",
  privacy_policy_url: null, terms_of_service_url: null, website_url: "https://mailtrap.io", info_level: "business",
};

function assertDomainShape(domain) {
  assert.deepEqual(Object.keys(domain).filter((k) => k !== "api_token").sort(), DOMAIN_KEYS);
  assert.equal(typeof domain.id, "number");
  assert.equal(typeof domain.domain_name, "string");
  for (const key of ["open_tracking_enabled", "click_tracking_enabled", "auto_unsubscribe_link_enabled",
    "custom_domain_tracking_enabled", "health_alerts_enabled", "critical_alerts_enabled", "inbound_enabled",
    "inbound_verified", "demo", "dns_verified"]) {
    assert.equal(typeof domain[key], "boolean", key);
  }
  assert.equal(typeof domain.dns_verified_at, "string"); // "" before the first verification, as recorded
  assert.deepEqual(Object.keys(domain.permissions).sort(), ["can_destroy", "can_read", "can_update"]);
  assert.ok(domain.dns_records.length >= 5);
  for (const record of domain.dns_records) {
    for (const key of RECORD_KEYS) assert.equal(typeof record[key], "string", `${record.key}.${key}`);
    assert.equal(typeof record.required, "boolean");
    assert.ok(STATUSES.includes(record.status), record.status);
    assert.ok(record.domain === domain.domain_name || record.domain.endsWith(`.${domain.domain_name}`));
  }
}

function systemMessages(projects) {
  const system = projects.find((p) => p.name === "Postroom system mail");
  assert.ok(system, "the System mail sandbox exists");
  return system.inboxes[0].id;
}

test("sendingDomains: list, create, get, update, sendSetupInstructions, delete", async () => {
  const domains = client.sendingDomains;
  const list = await domains.getList();
  assert.deepEqual(Object.keys(list), ["data"]);
  assert.equal(list.data.length, 1);
  const [demo] = list.data;
  assertDomainShape(demo);
  assert.equal(demo.domain_name, "demo.postroom.test");
  assert.equal(demo.demo, true);
  assert.equal(demo.dns_verified, true);
  assert.equal(demo.compliance_status, "demo");
  assert.match(demo.dns_verified_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(demo.permissions, { can_read: true, can_update: true, can_destroy: true });

  const created = await domains.create({ domain_name: "Mailtrappio.COM." });
  assertDomainShape(created);
  assert.equal(created.domain_name, "mailtrappio.com");
  assert.equal(created.demo, false);
  assert.equal(created.dns_verified, false);
  assert.equal(created.dns_verified_at, "");
  assert.equal(created.compliance_status, "unverified_dns");
  assert.equal(created.alert_recipient_email, null);
  assert.deepEqual(
    created.dns_records.map((r) => r.key),
    ["verification", "spf", "dkim1", "dkim2", "dmarc", "return_path", "link_verification"],
  );
  assert.deepEqual(Object.keys(created.api_token).sort(), ["id", "name", "token"]);
  assert.equal(created.api_token.name, `mailtrappio.com token ${created.api_token.id}`);

  const got = await domains.get(created.id);
  assertDomainShape(got);
  assert.equal(got.id, created.id);
  assert.equal(got.api_token, undefined, "the domain token's secret is shown only on create");
  assert.deepEqual(
    got.dns_records.map((r) => [r.key, r.domain, r.value]),
    created.dns_records.map((r) => [r.key, r.domain, r.value]),
  );
  assert.deepEqual((await domains.getList()).data.map((d) => d.id), [demo.id, created.id]);

  // The recorded update (the Ruby SDK's): click tracking turns the custom tracking domain on.
  const updated = await domains.update(created.id, {
    open_tracking_enabled: true,
    click_tracking_enabled: true,
    auto_unsubscribe_link_enabled: false,
  });
  assertDomainShape(updated);
  assert.equal(updated.click_tracking_enabled, true);
  assert.equal(updated.custom_domain_tracking_enabled, true);
  assert.equal(updated.open_tracking_enabled, true);
  assert.equal(updated.auto_unsubscribe_link_enabled, false);
  assert.equal((await domains.update(created.id, { open_tracking_enabled: false })).click_tracking_enabled, true);

  const sent = await domains.sendSetupInstructions(created.id, "example@railsware.com");
  assert.equal(sent, "", "204: the SDK resolves with the empty body");
  const projects = await api(server, "GET", `/api/accounts/${boot.account_id}/projects`, boot.api_token);
  const inbox = systemMessages(projects.body);
  const messages = await api(server, "GET", `/api/accounts/${boot.account_id}/inboxes/${inbox}/messages`,
    boot.api_token);
  assert.deepEqual(
    messages.body.map((m) => [m.subject, m.to_email]),
    [["DNS records for mailtrappio.com", "example@railsware.com"]],
  );

  assert.equal(await domains.delete(created.id), "");
  await assert.rejects(domains.get(created.id), { message: "Not Found" });
  await assert.rejects(domains.delete(created.id), { message: "Not Found" });
  await assert.rejects(domains.sendSetupInstructions(created.id, "example@railsware.com"), { message: "Not Found" });
  assert.deepEqual((await domains.getList()).data.map((d) => d.id), [demo.id]);
  const again = await domains.create({ domain_name: "mailtrappio.com" });
  assert.notEqual(again.id, created.id, "a deleted name can be added again");
});

test("sendingDomains: errors as the SDK reports them", async () => {
  const domains = client.sendingDomains;
  // The recording's text is "Validation failed: Domain name can't be blank, Tracking domain name is not a valid
  // domain name"; Postroom has no separate tracking domain name to complain about.
  await assert.rejects(domains.create({ domain_name: "" }), { message: "Validation failed: Domain name can't be blank" });
  await assert.rejects(domains.create({ domain_name: "gmail.com" }), {
    message: "Validation failed: Domain name gmail.com is a public mailbox domain; add a domain you own",
  });
  await assert.rejects(domains.create({ domain_name: "www.example.org" }), /must not start with www\./);
  await domains.create({ domain_name: "dup.example.org" });
  await assert.rejects(domains.create({ domain_name: "DUP.example.org" }), {
    message: "Validation failed: Domain name has already been taken",
  });
  await assert.rejects(domains.get(-1), { message: "Not Found" });
  await assert.rejects(domains.update(-1, { open_tracking_enabled: true }), { message: "Not Found" });
  await assert.rejects(domains.delete(-1), { message: "Not Found" });
  await assert.rejects(domains.sendSetupInstructions(-1, "example@railsware.com"), { message: "Not Found" });
  const { id } = (await domains.getList()).data.find((d) => d.domain_name === "dup.example.org");
  await assert.rejects(domains.sendSetupInstructions(id, "not-an-email"), { message: "email: is invalid" });

  const wrong = sdkClient(server, { token: "wrong-token-" + "0".repeat(40), accountId: boot.account_id });
  await assert.rejects(wrong.sendingDomains.getList(), { message: "Incorrect API token" });
});

test("companyInfo: get, create, update through /api/domains/{id}/company_info", async () => {
  const { id } = await client.sendingDomains.create({ domain_name: "company.example.org" });
  const info = client.companyInfo;
  await assert.rejects(info.get(id), { message: "Not Found" }, "none saved yet");
  const { website_url: _url, info_level: _level, ...missing } = COMPANY;
  await assert.rejects(info.create(id, missing), { message: "website_url: can't be blank, is invalid" });

  const created = await info.create(id, COMPANY);
  assert.deepEqual(created, { data: COMPANY_DATA });
  assert.deepEqual(Object.keys(created.data).sort(), COMPANY_KEYS);
  assert.deepEqual(await info.get(id), { data: COMPANY_DATA });

  const updated = await info.update(id, { city: "New York", zip_code: "10001" });
  assert.deepEqual(updated, { data: { ...COMPANY_DATA, city: "New York", zip_code: "10001" } });
  assert.deepEqual(await info.get(id), updated);
  // The account's information: every domain of it shows the same.
  const other = await client.sendingDomains.create({ domain_name: "company2.example.org" });
  assert.deepEqual(await info.get(other.id), updated);
  // Ruby's path for the same thing.
  const ruby = await api(server, "GET", `/api/accounts/${boot.account_id}/sending_domains/${id}/company_info`,
    boot.api_token);
  assert.deepEqual(ruby.body, updated);

  await assert.rejects(info.update(id, { info_level: "individual" }), {
    message: "info_level: can't be changed once submitted",
  });
  await assert.rejects(info.get(-1), { message: "Not Found" });
  await assert.rejects(info.create(-1, COMPANY), { message: "Not Found" });
  await assert.rejects(info.update(999999, { city: "New York" }), { message: "Not Found" });
});
