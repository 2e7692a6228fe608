// Email templates through the official Node SDK (mailtrap 4.10.0, unmodified, `client.templates`) against the
// real postroom binary: create, list, get, partial update, delete, validation and Handlebars syntax errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPostroom, sdkClient, api } from "./harness.mjs";

let server;
let client;
let boot;

before(async () => {
  server = await startPostroom();
  boot = server.boot;
  client = sdkClient(server, { token: boot.api_token, accountId: boot.account_id });
});

after(async () => {
  await server.stop();
});

const KEYS = ["body_html", "body_text", "category", "created_at", "id", "name", "subject", "updated_at", "uuid"];

test("templates: create, list, get, update, delete", async () => {
  const templates = client.templates;
  const created = await templates.create({
    name: "Order confirmation",
    subject: "Your order {{order.number}}",
    category: "Transactional",
    body_html: "<p>Hello {{customer.name}}</p>",
    body_text: "Hello {{customer.name}}",
  });
  assert.deepEqual(Object.keys(created).sort(), KEYS);
  assert.equal(created.name, "Order confirmation");
  assert.match(created.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(created.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const list = await templates.getList();
  assert.deepEqual(list.map((t) => t.id), [created.id]);
  assert.deepEqual(await templates.get(created.id), created);

  const updated = await templates.update(created.id, { category: "Orders" });
  assert.equal(updated.category, "Orders");
  assert.equal(updated.subject, created.subject, "fields not given keep their values");
  assert.equal(updated.uuid, created.uuid);

  await templates.delete(created.id);
  await assert.rejects(templates.get(created.id), { message: "Not Found" });
  assert.deepEqual(await templates.getList(), []);
});

test("templates: validation and Handlebars syntax errors are 422", async () => {
  const templates = client.templates;
  await assert.rejects(templates.create({ name: "", subject: "s", category: "c" }), {
    message: "can't be blank", // the SDK drops the field name
  });
  await assert.rejects(
    templates.create({ name: "Broken", subject: "s", category: "c", body_html: "<p>{{#if a}}x</p>" }),
    { message: /^body_html: has a Handlebars syntax error at line 1, column \d+: Parse error on line 1/ },
  );
  const raw = await api(server, "POST", `/api/accounts/${boot.account_id}/email_templates`, boot.api_token, {
    email_template: { name: "Broken", subject: "Hi {{name}", category: "c" },
  });
  assert.equal(raw.status, 422);
  assert.match(raw.body.errors.subject[0], /line 1, column 10/);
});
