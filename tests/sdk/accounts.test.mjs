// Accounts, access, permissions, API tokens, billing and sub-accounts through the official Node SDK
// (mailtrap 4.10.0, unmodified) against the real postroom binary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPostroom, sdkClient, api } from "./harness.mjs";

let server;
let admin; // SDK client with the bootstrap admin token
let boot;

before(async () => {
  server = await startPostroom();
  boot = server.boot;
  admin = sdkClient(server, { token: boot.api_token, accountId: boot.account_id });
});

after(async () => {
  await server.stop();
});

const accountAdmin = (accountId) => [{ resource_type: "account", resource_id: accountId, access_level: 100 }];

test("accounts: lists the token's account with its access level", async () => {
  const accounts = await admin.general.accounts.getAllAccounts();
  assert.deepEqual(accounts, [{ id: boot.account_id, name: "Default Account", access_levels: [100] }]);
});

test("account accesses: the owner is listed, filters narrow, unknown ids are 404", async () => {
  const accesses = await admin.general.accountAccesses.listAccountAccesses();
  assert.equal(accesses.length, 1);
  const [owner] = accesses;
  assert.equal(owner.specifier_type, "User");
  assert.equal(owner.specifier.email, boot.admin_email);
  assert.deepEqual(owner.resources, [{ resource_type: "organization", resource_id: boot.organization_id, access_level: 1000 }]);
  assert.equal(typeof owner.permissions.can_read, "boolean");
  assert.deepEqual(await admin.general.accountAccesses.listAccountAccesses({ inboxIds: [boot.inbox_id] }), []);
  assert.deepEqual(await admin.general.accountAccesses.listAccountAccesses({ projectIds: [boot.project_id] }), []);
  await assert.rejects(admin.general.accountAccesses.removeAccountAccess(999999), { message: "Not Found" });
});

test("permissions: the owner's access cannot be changed; unknown accesses are 404", async () => {
  const [owner] = await admin.general.accountAccesses.listAccountAccesses();
  const change = [{ resourceId: String(boot.account_id), resourceType: "account", accessLevel: "viewer" }];
  await assert.rejects(admin.general.permissions.bulkPermissionsUpdate(owner.id, change), {
    message: "Account access forbidden",
  });
  await assert.rejects(admin.general.permissions.bulkPermissionsUpdate(999999, change), { message: "Not Found" });
  const [after] = await admin.general.accountAccesses.listAccountAccesses();
  assert.deepEqual(after.resources, owner.resources, "nothing changed");
});

test("api tokens: create, get, authenticate, reset with grace period, delete", async () => {
  const tokens = admin.general.apiTokens;
  const initial = await tokens.getList();
  assert.ok(initial.some((t) => t.last_4_digits === boot.api_token.slice(-4)));
  assert.ok(initial.every((t) => t.token === undefined), "secrets are never listed");

  const created = await tokens.create({ name: "CI deploys", resources: accountAdmin(boot.account_id) });
  assert.match(created.token, /^[0-9a-f]{64}$/);
  assert.equal(created.last_4_digits, created.token.slice(-4));
  assert.equal(created.name, "CI deploys");
  assert.equal(created.expires_at, null);
  assert.deepEqual(created.resources, accountAdmin(boot.account_id));

  const fetched = await tokens.get(created.id);
  assert.equal(fetched.token, undefined);
  assert.equal(fetched.name, "CI deploys");

  const ci = sdkClient(server, { token: created.token, accountId: boot.account_id });
  assert.equal((await ci.general.accounts.getAllAccounts())[0].id, boot.account_id);

  const reset = await tokens.reset(created.id);
  assert.notEqual(reset.id, created.id);
  assert.equal(reset.name, `CI deploys ${reset.id}`);
  assert.notEqual(reset.token, created.token);
  const old = await tokens.get(created.id);
  const graceHours = (Date.parse(old.expires_at) - Date.now()) / 3_600_000;
  assert.ok(graceHours > 11.9 && graceHours <= 12, `old token expires in 12 h, got ${graceHours}`);
  assert.equal((await ci.general.accounts.getAllAccounts())[0].id, boot.account_id, "old token still works");
  await assert.rejects(tokens.reset(created.id), /already been reset/);

  const renewed = sdkClient(server, { token: reset.token, accountId: boot.account_id });
  assert.equal((await renewed.general.accounts.getAllAccounts()).length, 1);
  await tokens.delete(reset.id);
  await assert.rejects(renewed.general.accounts.getAllAccounts(), { message: "Incorrect API token" });
  await assert.rejects(tokens.get(reset.id), { message: "Not Found" });
  await assert.rejects(tokens.delete(reset.id), { message: "Not Found" });
});

test("api tokens: validation errors come back in the documented shape", async () => {
  const before = await admin.general.apiTokens.getList();
  await assert.rejects(admin.general.apiTokens.create({ name: "x", resources: [] }), {
    message: "No permissions selected. Please choose at least one.",
  });
  await assert.rejects(
    admin.general.apiTokens.create({ name: "x", resources: [{ resource_type: "account", resource_id: 987654, access_level: 100 }] }),
    /not in this account/,
  );
  assert.deepEqual(await admin.general.apiTokens.getList(), before, "nothing was created");
});

test("billing: usage of the current cycle, unlimited by default", async () => {
  const usage = await admin.general.billing.getCurrentBillingCycleUsage();
  assert.ok(Date.parse(usage.billing.cycle_start) <= Date.now());
  assert.ok(Date.parse(usage.billing.cycle_end) > Date.now());
  assert.equal(usage.testing.plan.name, "Self-hosted");
  assert.deepEqual(usage.testing.usage.sent_messages_count, { current: 0, limit: null });
  assert.deepEqual(usage.testing.usage.forwarded_messages_count, { current: 0, limit: null });
  assert.deepEqual(usage.sending.usage.sent_messages_count, { current: 0, limit: null });
});

test("sub-accounts: list and create through the organization", async () => {
  const org = sdkClient(server, { token: boot.api_token, organizationId: boot.organization_id });
  const created = await org.organizations.subAccounts.create({ name: "Staging" });
  assert.equal(created.name, "Staging");
  const list = await org.organizations.subAccounts.getList();
  assert.deepEqual(list.map((a) => a.name).sort(), ["Default Account", "Staging"]);
  await assert.rejects(org.organizations.subAccounts.create({ name: "" }), /can't be blank/);
});

test("tenant isolation: a second account's token reaches nothing of the first", async () => {
  const org = sdkClient(server, { token: boot.api_token, organizationId: boot.organization_id });
  const b = await org.organizations.subAccounts.create({ name: "Client B" });
  const issued = await api(server, "POST", `/api/accounts/${b.id}/api_tokens`, boot.api_token, {
    name: "B admin",
    resources: accountAdmin(b.id),
  });
  assert.equal(issued.status, 200);
  const tokenB = issued.body.token;
  const aTokensBefore = await admin.general.apiTokens.getList();

  const asB = sdkClient(server, { token: tokenB, accountId: boot.account_id }); // aimed at account A
  assert.deepEqual((await asB.general.accounts.getAllAccounts()).map((a) => a.id), [b.id]);
  const forbidden = { message: "Account access forbidden" };
  await assert.rejects(asB.general.accountAccesses.listAccountAccesses(), forbidden);
  await assert.rejects(asB.general.accountAccesses.removeAccountAccess(1), forbidden);
  await assert.rejects(asB.general.permissions.getResources(), forbidden);
  await assert.rejects(
    asB.general.permissions.bulkPermissionsUpdate(1, [{ resourceId: "1", resourceType: "account", accessLevel: "admin" }]),
    forbidden,
  );
  await assert.rejects(asB.general.apiTokens.getList(), forbidden);
  await assert.rejects(asB.general.apiTokens.get(aTokensBefore[0].id), forbidden);
  await assert.rejects(asB.general.apiTokens.create({ name: "x", resources: accountAdmin(boot.account_id) }), forbidden);
  await assert.rejects(asB.general.apiTokens.reset(aTokensBefore[0].id), forbidden);
  await assert.rejects(asB.general.apiTokens.delete(aTokensBefore[0].id), forbidden);
  await assert.rejects(asB.general.billing.getCurrentBillingCycleUsage(), forbidden);
  const orgAsB = sdkClient(server, { token: tokenB, organizationId: boot.organization_id });
  await assert.rejects(orgAsB.organizations.subAccounts.getList(), forbidden);
  await assert.rejects(orgAsB.organizations.subAccounts.create({ name: "sneaky" }), forbidden);
  assert.equal((await api(server, "GET", `/api/accounts/${boot.account_id}/permissions/resources`, tokenB)).status, 403);

  // Token-scoped aliases resolve to B's own account, never A's.
  const own = await api(server, "GET", "/api/api_tokens", tokenB);
  assert.deepEqual(own.body.map((t) => t.name), ["B admin"]);
  assert.equal((await api(server, "GET", `/api/api_tokens/${aTokensBefore[0].id}`, tokenB)).status, 404);
  assert.equal((await api(server, "DELETE", `/api/api_tokens/${aTokensBefore[0].id}`, tokenB)).status, 404);

  assert.deepEqual(await admin.general.apiTokens.getList(), aTokensBefore, "account A is unchanged");
});
