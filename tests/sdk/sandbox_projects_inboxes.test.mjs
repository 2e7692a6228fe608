// Email Sandbox projects and inboxes through the official Node SDK (mailtrap 4.10.0, unmodified) against the
// real postroom binary: every endpoint, the newer /sandboxes aliases, per-resource grants and tenant isolation.
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

const INBOX_KEYS = [
  "api_domain", "domain", "email_domain", "email_username", "email_username_enabled", "emails_count",
  "emails_unread_count", "forward_from_email_address", "forwarded_messages_count", "id", "last_message_sent_at",
  "max_message_size", "max_size", "name", "password", "permissions", "pop3_domain", "pop3_ports", "project_id",
  "sent_messages_count", "smtp_ports", "status", "used", "username",
];
const FULL = { can_read: true, can_update: true, can_destroy: true, can_leave: false };
const READ_ONLY = { can_read: true, can_update: false, can_destroy: false, can_leave: false };

async function tokenWith(resources, accountId = boot.account_id) {
  const issued = await api(server, "POST", `/api/accounts/${accountId}/api_tokens`, boot.api_token, {
    name: "limited",
    resources,
  });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  return issued.body.token;
}

test("projects: create, list, get, rename, delete", async () => {
  const projects = admin.testing.projects;
  const created = await projects.create("Checkout flows");
  assert.equal(created.name, "Checkout flows");
  assert.deepEqual(created.inboxes, []);
  assert.deepEqual(created.permissions, FULL);
  assert.match(created.share_links.admin, new RegExp(`^${server.base}/projects/${created.id}/share/`));
  assert.equal(typeof created.share_links.viewer, "string");

  const list = await projects.getList();
  assert.deepEqual(list.map((p) => p.name), ["My Project", "Checkout flows"]);
  const bootstrap = list.find((p) => p.id === boot.project_id);
  assert.deepEqual(bootstrap.inboxes.map((i) => i.id), [boot.inbox_id]);

  assert.equal((await projects.getById(created.id)).name, "Checkout flows");
  const renamed = await projects.update(created.id, "Checkout");
  assert.equal(renamed.name, "Checkout");
  assert.equal((await projects.getById(created.id)).name, "Checkout");

  await assert.rejects(projects.create(""), {
    message: "can't be blank, is too short (minimum is 2 characters)", // the SDK drops the "name" prefix
  });
  await assert.rejects(projects.create("x".repeat(101)), /is too long \(maximum is 100 characters\)/);
  await assert.rejects(projects.update(created.id, "x"), /is too short/);
  await assert.rejects(projects.getById(999999), { message: "Not Found" });
  await assert.rejects(projects.update(999999, "Nope"), { message: "Not Found" });

  const inbox = await admin.testing.inboxes.create(created.id, "Doomed");
  assert.deepEqual(await projects.delete(created.id), { id: created.id });
  await assert.rejects(projects.getById(created.id), { message: "Not Found" });
  await assert.rejects(admin.testing.inboxes.getInboxAttributes(inbox.id), { message: "Not Found" });
  await assert.rejects(projects.delete(created.id), { message: "Not Found" });
});

test("inboxes: the object describes this installation", async () => {
  const inbox = await admin.testing.inboxes.getInboxAttributes(boot.inbox_id);
  assert.deepEqual(Object.keys(inbox).sort(), INBOX_KEYS);
  assert.equal(inbox.id, boot.inbox_id);
  assert.equal(inbox.name, "My Sandbox");
  assert.equal(inbox.project_id, boot.project_id);
  assert.equal(inbox.username, boot.smtp_username);
  assert.equal(inbox.password, boot.smtp_password);
  assert.equal(inbox.status, "active");
  assert.equal(inbox.domain, "127.0.0.1");
  assert.deepEqual(inbox.smtp_ports, [server.smtpPort]);
  assert.deepEqual(inbox.pop3_ports, [server.pop3Port]);
  assert.equal(inbox.pop3_domain, "127.0.0.1");
  assert.equal(inbox.api_domain, "127.0.0.1");
  assert.equal(inbox.email_domain, "inbox.postroom.test");
  assert.equal(inbox.forward_from_email_address, `${boot.smtp_username}-i${boot.inbox_id}@forward.postroom.test`);
  assert.match(inbox.email_username, /^my-sandbox-[a-z0-9]{6}$/);
  assert.equal(inbox.email_username_enabled, false);
  assert.equal(inbox.used, false);
  assert.equal(inbox.emails_count, 0);
  assert.equal(inbox.emails_unread_count, 0);
  assert.equal(inbox.last_message_sent_at, null);
  assert.equal(inbox.max_size, 1000);
  assert.equal(inbox.max_message_size, 10 * 1024 * 1024);
  assert.deepEqual(inbox.permissions, FULL);
  await assert.rejects(admin.testing.inboxes.getInboxAttributes(999999), { message: "Not Found" });
});

test("inboxes: create, list, update, clean, mark read, reset credentials, delete", async () => {
  const inboxes = admin.testing.inboxes;
  const created = await inboxes.create(boot.project_id, "QA Team");
  assert.match(created.username, /^[0-9a-f]{14}$/);
  assert.match(created.password, /^[0-9a-f]{14}$/);
  assert.match(created.email_username, /^qa-team-[a-z0-9]{6}$/);
  assert.ok((await inboxes.getList()).some((i) => i.id === created.id));
  await assert.rejects(inboxes.create(boot.project_id, ""), { message: "can't be blank" });
  await assert.rejects(inboxes.create(999999, "x"), { message: "Not Found" });

  const renamed = await inboxes.updateInbox(created.id, { name: "QA" });
  assert.equal(renamed.name, "QA");
  assert.equal(renamed.email_username, created.email_username, "a rename keeps the address");

  assert.equal((await inboxes.cleanInbox(created.id)).emails_count, 0);
  assert.equal((await inboxes.markAsRead(created.id)).emails_unread_count, 0);

  const reset = await inboxes.resetCredentials(created.id);
  assert.notEqual(reset.username, created.username);
  assert.notEqual(reset.password, created.password);
  assert.match(reset.username, /^[0-9a-f]{14}$/);

  const deleted = await inboxes.delete(created.id);
  assert.equal(deleted.id, created.id);
  assert.equal(deleted.name, "QA");
  await assert.rejects(inboxes.getInboxAttributes(created.id), { message: "Not Found" });
  await assert.rejects(inboxes.delete(created.id), { message: "Not Found" });
  for (const call of ["cleanInbox", "markAsRead", "resetCredentials", "enableEmailAddress", "resetEmailAddress"])
    await assert.rejects(inboxes[call](created.id), { message: "Not Found" }, call);
});

test("inboxes: counts follow captured messages; all_read and clean act on them", async () => {
  const inboxes = admin.testing.inboxes;
  const inbox = await inboxes.create(boot.project_id, "Counted");
  const sender = sdkClient(server, { token: boot.api_token, sandbox: true, testInboxId: inbox.id });
  for (const subject of ["one", "two"])
    await sender.send({ from: { email: "app@example.com" }, to: [{ email: "user@example.com" }], subject, text: "hi" });

  const filled = await inboxes.getInboxAttributes(inbox.id);
  assert.equal(filled.emails_count, 2);
  assert.equal(filled.emails_unread_count, 2);
  assert.equal(filled.used, true);
  assert.equal(typeof filled.last_message_sent_at, "string");
  const listed = (await admin.testing.projects.getById(boot.project_id)).inboxes.find((i) => i.id === inbox.id);
  assert.equal(listed.emails_count, 2, "projects show the same counts");

  const read = await inboxes.markAsRead(inbox.id);
  assert.equal(read.emails_count, 2);
  assert.equal(read.emails_unread_count, 0);

  const cleaned = await inboxes.cleanInbox(inbox.id);
  assert.equal(cleaned.emails_count, 0);
  assert.equal(cleaned.used, true, "used means a message was ever captured");
  assert.deepEqual(await admin.testing.messages.get(inbox.id), []);
});

test("inboxes: the email address can be enabled, edited and reset; its hash stays", async () => {
  const inboxes = admin.testing.inboxes;
  const inbox = await inboxes.create(boot.project_id, "Newsletter");
  const hash = inbox.email_username.slice(-6);
  const enabled = await inboxes.enableEmailAddress(inbox.id);
  assert.equal(enabled.email_username_enabled, true);

  const edited = await inboxes.updateInbox(inbox.id, { emailUsername: "marketing.team" });
  assert.equal(edited.email_username, `marketing.team-${hash}`);
  await assert.rejects(inboxes.updateInbox(inbox.id, { emailUsername: "no spaces" }), {
    message: "email_username: is invalid",
  });

  const reset = await inboxes.resetEmailAddress(inbox.id);
  assert.equal(reset.email_username, `newsletter-${hash}`);
  assert.equal(reset.email_username_enabled, true);
  assert.equal((await inboxes.enableEmailAddress(inbox.id)).email_username_enabled, false, "the toggle flips back");
});

test("sandboxes: the newer API's paths reach the same inboxes", async () => {
  const created = await api(server, "POST", `/api/projects/${boot.project_id}/sandboxes`, boot.api_token, {
    sandbox: { name: "Via sandboxes" },
  });
  assert.equal(created.status, 200);
  assert.equal(created.body.name, "Via sandboxes");
  const id = created.body.id;
  const list = await api(server, "GET", "/api/sandboxes", boot.api_token);
  assert.ok(list.body.some((i) => i.id === id));
  assert.equal((await api(server, "GET", `/api/sandboxes/${id}`, boot.api_token)).body.id, id);
  const patched = await api(server, "PATCH", `/api/sandboxes/${id}`, boot.api_token, { sandbox: { name: "Renamed" } });
  assert.equal(patched.body.name, "Renamed");
  const toggled = await api(server, "PATCH", `/api/accounts/${boot.account_id}/sandboxes/${id}/toggle_email_username`,
    boot.api_token);
  assert.equal(toggled.body.email_username_enabled, true);
  assert.equal((await admin.testing.inboxes.getInboxAttributes(id)).name, "Renamed");
  assert.equal((await api(server, "DELETE", `/api/sandboxes/${id}`, boot.api_token)).status, 200);
  assert.equal((await api(server, "GET", `/api/sandboxes/${id}`, boot.api_token)).status, 404);
});

test("grants: a token granted one inbox sees and reaches only that inbox", async () => {
  const project = await admin.testing.projects.create("Partner");
  const mine = await admin.testing.inboxes.create(project.id, "Partner inbox");
  const other = await admin.testing.inboxes.create(project.id, "Internal inbox");
  const token = await tokenWith([{ resource_type: "inbox", resource_id: mine.id, access_level: 10 }]);
  const viewer = sdkClient(server, { token, accountId: boot.account_id });

  assert.deepEqual((await viewer.testing.inboxes.getList()).map((i) => i.id), [mine.id]);
  const projects = await viewer.testing.projects.getList();
  assert.deepEqual(projects.map((p) => p.id), [project.id]);
  assert.deepEqual(projects[0].inboxes.map((i) => i.id), [mine.id]);
  assert.equal(projects[0].permissions.can_update, false);

  const seen = await viewer.testing.inboxes.getInboxAttributes(mine.id);
  assert.deepEqual(seen.permissions, READ_ONLY);
  assert.equal((await viewer.testing.inboxes.markAsRead(mine.id)).id, mine.id, "a viewer may mark read");
  const forbidden = { message: "Account access forbidden" };
  await assert.rejects(viewer.testing.inboxes.getInboxAttributes(other.id), forbidden);
  await assert.rejects(viewer.testing.inboxes.updateInbox(mine.id, { name: "Mine now" }), forbidden);
  await assert.rejects(viewer.testing.inboxes.cleanInbox(mine.id), forbidden);
  await assert.rejects(viewer.testing.inboxes.resetCredentials(mine.id), forbidden);
  await assert.rejects(viewer.testing.inboxes.delete(mine.id), forbidden);
  await assert.rejects(viewer.testing.projects.create("Side project"), forbidden);
  await assert.rejects(viewer.testing.projects.delete(project.id), forbidden);
  await assert.rejects(viewer.testing.inboxes.create(project.id, "More"), forbidden);

  const projectAdminToken = await tokenWith([{ resource_type: "project", resource_id: project.id, access_level: 100 }]);
  const projectAdmin = sdkClient(server, { token: projectAdminToken, accountId: boot.account_id });
  assert.deepEqual((await projectAdmin.testing.inboxes.getList()).map((i) => i.id).sort(), [mine.id, other.id].sort());
  const third = await projectAdmin.testing.inboxes.create(project.id, "Third");
  assert.deepEqual(third.permissions, FULL);
  assert.equal((await projectAdmin.testing.projects.update(project.id, "Partner B")).name, "Partner B");
  await assert.rejects(projectAdmin.testing.inboxes.getInboxAttributes(boot.inbox_id), forbidden);
});

test("tenant isolation: a second account's token reaches none of the first's projects or inboxes", async () => {
  const org = sdkClient(server, { token: boot.api_token, organizationId: boot.organization_id });
  const b = await org.organizations.subAccounts.create({ name: "Client B" });
  const tokenB = await tokenWith([{ resource_type: "account", resource_id: b.id, access_level: 100 }], b.id);
  const asB = sdkClient(server, { token: tokenB, accountId: boot.account_id }); // aimed at account A
  const forbidden = { message: "Account access forbidden" };
  await assert.rejects(asB.testing.projects.getList(), forbidden);
  await assert.rejects(asB.testing.projects.getById(boot.project_id), forbidden);
  await assert.rejects(asB.testing.projects.update(boot.project_id, "Hijacked"), forbidden);
  await assert.rejects(asB.testing.projects.delete(boot.project_id), forbidden);
  await assert.rejects(asB.testing.inboxes.getList(), forbidden);
  await assert.rejects(asB.testing.inboxes.getInboxAttributes(boot.inbox_id), forbidden);
  await assert.rejects(asB.testing.inboxes.create(boot.project_id, "Sneaky"), forbidden);
  await assert.rejects(asB.testing.inboxes.resetCredentials(boot.inbox_id), forbidden);
  await assert.rejects(asB.testing.inboxes.delete(boot.inbox_id), forbidden);

  // B's own account path with A's ids, and the token-scoped aliases: A's rows simply do not exist for B.
  const ownB = sdkClient(server, { token: tokenB, accountId: b.id });
  const notFound = { message: "Not Found" };
  await assert.rejects(ownB.testing.projects.getById(boot.project_id), notFound);
  await assert.rejects(ownB.testing.inboxes.getInboxAttributes(boot.inbox_id), notFound);
  await assert.rejects(ownB.testing.inboxes.cleanInbox(boot.inbox_id), notFound);
  await assert.rejects(ownB.testing.inboxes.create(boot.project_id, "Sneaky"), notFound);
  for (const [method, path] of [
    ["GET", `/api/projects/${boot.project_id}`],
    ["DELETE", `/api/projects/${boot.project_id}`],
    ["GET", `/api/inboxes/${boot.inbox_id}`],
    ["PATCH", `/api/inboxes/${boot.inbox_id}/reset_credentials`],
    ["DELETE", `/api/sandboxes/${boot.inbox_id}`],
  ])
    assert.equal((await api(server, method, path, tokenB)).status, 404, `${method} ${path}`);
  assert.deepEqual(await ownB.testing.projects.getList(), []);
  assert.deepEqual(await ownB.testing.inboxes.getList(), []);

  const still = await admin.testing.inboxes.getInboxAttributes(boot.inbox_id);
  assert.equal(still.name, "My Sandbox", "account A is unchanged");
});
