// Account settings: API tokens (created with resource permissions, the secret shown once; reset; delete),
// users and their access levels (add, change, remove), and the account's name.
import { useState } from "preact/hooks";
import { accountPath, api } from "../../lib/api";
import { useAction, useAsync } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { formatDate } from "../../lib/format";
import { isAdmin, useSession } from "../../lib/session";
import {
  Badge,
  ConfirmButton,
  CopyField,
  Empty,
  ErrorBanner,
  Field,
  Loading,
  Modal,
  PageHeader,
  TabPanel,
  Tabs,
} from "../../components/ui";
import { inputValue, loadDomains } from "../logs/shared";
import "../logs/logs.css";
import "./settings.css";

const TABS = [
  { id: "tokens", label: "API tokens" },
  { id: "users", label: "Users" },
  { id: "account", label: "Account" },
];

export function SettingsPage({ path }: { path: string }) {
  const section = path.split("?")[0].split("/")[2] || "tokens";
  const selected = TABS.some((t) => t.id === section) ? section : "tokens";
  return (
    <div class="settings-page">
      <PageHeader title="Settings" />
      <Tabs tabs={TABS} selected={selected} onSelect={(id) => navigate(`/settings/${id}`)} label="Settings sections" />
      <TabPanel id={selected}>
        {selected === "tokens" && <TokensSection />}
        {selected === "users" && <UsersSection />}
        {selected === "account" && <AccountSection />}
      </TabPanel>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------- API tokens

interface Grant {
  resource_type: string;
  resource_id: number | string;
  access_level: number;
}

interface ApiToken {
  id: number;
  name: string;
  last_4_digits: string;
  created_by: string;
  expires_at: string | null;
  resources: Grant[];
  token?: string;
}

interface ResourceNode {
  id: number;
  name: string;
  type: string;
  access_level: number;
  resources: ResourceNode[];
}

interface ResourceOption {
  value: string; // "type:id"
  label: string;
}

const TYPE_LABELS: Record<string, string> = {
  account: "Account",
  project: "Project",
  inbox: "Inbox",
  sending_domain: "Sending domain",
  billing: "Billing",
  organization: "Organization",
};

const levelName = (level: number) =>
  level >= 1000 ? "Owner" : level >= 100 ? "Admin" : level >= 10 ? "Viewer" : level > 0 ? "Partial" : "None";

// Everything a token may be granted, named: the permission tree (account → projects → inboxes) and the
// account's sending domains (which the tree does not list).
async function loadResourceOptions(): Promise<ResourceOption[]> {
  const [tree, domains] = await Promise.all([
    api.get<ResourceNode[]>(accountPath("/permissions/resources")),
    loadDomains().catch(() => []),
  ]);
  const out: ResourceOption[] = [];
  const walk = (nodes: ResourceNode[], prefix: string) => {
    for (const node of nodes) {
      const label = `${TYPE_LABELS[node.type] ?? node.type}: ${prefix}${node.name}`;
      out.push({ value: `${node.type}:${node.id}`, label });
      walk(node.resources, node.type === "account" ? "" : `${prefix}${node.name} / `);
    }
  };
  walk(tree, "");
  for (const d of domains) out.push({ value: `sending_domain:${d.id}`, label: `Sending domain: ${d.domain_name}` });
  return out;
}

function grantLabel(grant: Grant, options: ResourceOption[]): string {
  const found = options.find((o) => o.value === `${grant.resource_type}:${grant.resource_id}`);
  return found ? found.label : `${TYPE_LABELS[grant.resource_type] ?? grant.resource_type} #${grant.resource_id}`;
}

function TokensSection() {
  const { account } = useSession();
  const admin = isAdmin(account);
  const tokens = useAsync(() => api.get<ApiToken[]>(accountPath("/api_tokens")), []);
  const options = useAsync(loadResourceOptions, []);
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<{ token: ApiToken; reset: boolean } | null>(null);
  const action = useAction();

  const reset = async (t: ApiToken) => {
    const fresh = await action.run(() => api.post<ApiToken>(accountPath(`/api_tokens/${t.id}/reset`), {}));
    if (fresh) {
      setRevealed({ token: fresh, reset: true });
      tokens.reload();
    }
  };
  const remove = async (t: ApiToken) => {
    const done = await action.run(() => api.del(accountPath(`/api_tokens/${t.id}`)));
    if (done !== undefined) {
      tokens.setData((tokens.data ?? []).filter((x) => x.id !== t.id));
      if (revealed?.token.id === t.id) setRevealed(null);
    }
  };

  return (
    <section aria-labelledby="settings-tokens-title">
      <div class="row settings-section-head">
        <h2 id="settings-tokens-title" class="grow">
          API tokens
        </h2>
        {admin && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            Create token
          </button>
        )}
      </div>
      <p class="hint">
        Tokens authenticate the API, the SDKs and SMTP submission (user <code>api</code>, the token as password).
        {!admin && " Only account admins can create, reset or delete tokens."}
      </p>
      {revealed && (
        <div class="panel settings-secret" role="status" aria-live="polite">
          <h3>
            {revealed.reset ? "Token reset" : "Token created"}: {revealed.token.name}
          </h3>
          <p>
            Copy the token now — it is shown only once.
            {revealed.reset && " The previous token keeps working for 12 more hours, then stops."}
          </p>
          <CopyField label="Token" value={revealed.token.token ?? ""} />
          <button type="button" onClick={() => setRevealed(null)}>
            I have copied it
          </button>
        </div>
      )}
      <ErrorBanner error={tokens.error} />
      <ErrorBanner error={options.error} />
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
      {tokens.loading && !tokens.data ? (
        <Loading />
      ) : tokens.data && tokens.data.length === 0 ? (
        <Empty>No API tokens{admin ? " yet." : " visible to you."}</Empty>
      ) : (
        tokens.data && (
          <table class="settings-table" aria-label="API tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Permissions</th>
                <th scope="col">Created by</th>
                <th scope="col">Expires</th>
                {admin && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => {
                const expired = t.expires_at !== null && new Date(t.expires_at).getTime() <= Date.now();
                return (
                  <tr key={t.id} data-token-id={t.id}>
                    <td class="settings-name">{t.name}</td>
                    <td>
                      <code>…{t.last_4_digits}</code>
                    </td>
                    <td>
                      <ul class="settings-grants">
                        {t.resources.map((g, i) => (
                          <li key={i}>
                            {grantLabel(g, options.data ?? [])}{" "}
                            <Badge kind={g.access_level >= 100 ? "info" : "muted"}>{levelName(g.access_level)}</Badge>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>{t.created_by || "—"}</td>
                    <td class="logs-nowrap">
                      {t.expires_at ? (
                        expired ? (
                          <Badge kind="bad">Expired</Badge>
                        ) : (
                          formatDate(t.expires_at)
                        )
                      ) : (
                        "Never"
                      )}
                    </td>
                    {admin && (
                      <td class="settings-actions">
                        <ConfirmButton
                          label="Reset"
                          confirmLabel={`Reset ${t.name}`}
                          danger={false}
                          disabled={action.busy}
                          onConfirm={() => reset(t)}
                        />{" "}
                        <ConfirmButton
                          label="Delete"
                          confirmLabel={`Delete ${t.name}`}
                          disabled={action.busy}
                          onConfirm={() => remove(t)}
                        />
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )
      )}
      <Modal title="Create API token" open={creating} onClose={() => setCreating(false)}>
        <CreateTokenForm
          options={options.data ?? []}
          accountValue={`account:${account.id}`}
          onCreated={(token) => {
            setCreating(false);
            setRevealed({ token, reset: false });
            tokens.reload();
          }}
        />
      </Modal>
    </section>
  );
}

interface GrantDraft {
  resource: string;
  level: string;
}

function CreateTokenForm({
  options,
  accountValue,
  onCreated,
}: {
  options: ResourceOption[];
  accountValue: string;
  onCreated: (token: ApiToken) => void;
}) {
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [grants, setGrants] = useState<GrantDraft[]>([{ resource: accountValue, level: "100" }]);
  const action = useAction();
  const update = (i: number, change: Partial<GrantDraft>) =>
    setGrants(grants.map((g, j) => (j === i ? { ...g, ...change } : g)));
  const submit = async (event: Event) => {
    event.preventDefault();
    const body: Record<string, unknown> = {
      name,
      resources: grants.map((g) => {
        const [resource_type, resource_id] = g.resource.split(":");
        return { resource_type, resource_id: Number(resource_id), access_level: Number(g.level) };
      }),
    };
    if (expires) body.expires_at = new Date(`${expires}T23:59:59`).toISOString().replace(/\.\d{3}Z$/, "Z");
    const token = await action.run(() => api.post<ApiToken>(accountPath("/api_tokens"), body));
    if (token) onCreated(token);
  };
  return (
    <form onSubmit={submit} class="settings-form">
      <ErrorBanner error={action.error} />
      <Field label="Name" hint="What uses it, e.g. “Production app” or “CI”.">
        {(id) => (
          <input id={id} required autoFocus maxLength={255} value={name} onInput={(e) => setName(inputValue(e))} />
        )}
      </Field>
      <Field label="Expires" hint="Optional: the token stops working at the end of this day.">
        {(id) => <input id={id} type="date" value={expires} onInput={(e) => setExpires(inputValue(e))} />}
      </Field>
      <fieldset class="settings-grant-fieldset">
        <legend>Permissions</legend>
        {grants.map((g, i) => (
          <div class="row settings-grant-row" key={i}>
            <label class="visually-hidden" for={`grant-resource-${i}`}>
              Resource {i + 1}
            </label>
            <select
              id={`grant-resource-${i}`}
              class="grow"
              value={g.resource}
              onChange={(e) => update(i, { resource: inputValue(e) })}
            >
              {options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            <label class="visually-hidden" for={`grant-level-${i}`}>
              Access level {i + 1}
            </label>
            <select id={`grant-level-${i}`} value={g.level} onChange={(e) => update(i, { level: inputValue(e) })}>
              <option value="100">Admin</option>
              <option value="10">Viewer</option>
            </select>
            <button
              type="button"
              class="small"
              aria-label={`Remove permission ${i + 1}`}
              disabled={grants.length === 1}
              onClick={() => setGrants(grants.filter((_, j) => j !== i))}
            >
              Remove
            </button>
          </div>
        ))}
        <button
          type="button"
          class="small"
          onClick={() => {
            const unused = options.find((o) => !grants.some((g) => g.resource === o.value));
            setGrants([...grants, { resource: (unused ?? options[0])?.value ?? accountValue, level: "10" }]);
          }}
        >
          Add permission
        </button>
        <p class="hint">
          Admin can change a resource and what is inside it; Viewer can only read. Sending needs Admin on the sending
          domain (or the account).
        </p>
      </fieldset>
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? "Creating…" : "Create token"}
        </button>
      </div>
    </form>
  );
}

// ---------------------------------------------------------------------------------------------------- Users

interface Access {
  id: number;
  specifier_type: string;
  specifier: { id: number; email?: string; name?: string };
  resources: Grant[];
  permissions: { can_read: boolean; can_update: boolean; can_destroy: boolean; can_leave: boolean };
}

interface AddedUser {
  id: number;
  email: string;
  name: string;
  access_level: string | number;
  password?: string;
}

function UsersSection() {
  const { account, session } = useSession();
  const admin = isAdmin(account);
  const accesses = useAsync(
    async () => (admin ? api.get<Access[]>(accountPath("/account_accesses")) : []),
    [admin],
  );
  const options = useAsync(loadResourceOptions, []);
  const action = useAction();
  const [added, setAdded] = useState<AddedUser | null>(null);
  const [adding, setAdding] = useState(false);

  if (!admin)
    return (
      <p class="hint">
        Only account admins can see and manage users. You are signed in as {session.user.email} (
        {levelName(Math.max(...account.access_levels))}).
      </p>
    );

  const accountGrant = (a: Access) =>
    a.resources.find((g) => g.resource_type === "account" && String(g.resource_id) === String(account.id));
  const changeLevel = async (a: Access, level: string) => {
    const done = await action.run(() =>
      api.put(accountPath(`/account_accesses/${a.id}/permissions/bulk`), {
        permissions: [{ resource_type: "account", resource_id: account.id, access_level: level }],
      }),
    );
    if (done) accesses.reload();
  };
  const remove = async (a: Access) => {
    const done = await action.run(() => api.del(accountPath(`/account_accesses/${a.id}`)));
    if (done !== undefined) accesses.setData((accesses.data ?? []).filter((x) => x.id !== a.id));
  };

  const users = (accesses.data ?? []).filter((a) => a.specifier_type !== "ApiToken");
  return (
    <section aria-labelledby="settings-users-title">
      <div class="row settings-section-head">
        <h2 id="settings-users-title" class="grow">
          Users
        </h2>
        <button type="button" class="primary" onClick={() => setAdding(true)}>
          Add user
        </button>
      </div>
      <p class="hint">
        Admins manage the account (domains, tokens, users); viewers can read everything in it. Owners cannot be
        changed or removed.
      </p>
      {added && (
        <div class="panel settings-secret" role="status" aria-live="polite">
          {added.password ? (
            <>
              <h3>User created: {added.email}</h3>
              <p>Give them this password — it is shown only once. They sign in at {window.location.origin}.</p>
              <CopyField label="Password" value={added.password} />
            </>
          ) : (
            <h3>{added.email} now has {String(added.access_level)} access to this account.</h3>
          )}
          <button type="button" onClick={() => setAdded(null)}>
            Done
          </button>
        </div>
      )}
      <ErrorBanner error={accesses.error} />
      <ErrorBanner error={action.error} onDismiss={() => action.setError(null)} />
      {accesses.loading && !accesses.data ? (
        <Loading />
      ) : users.length === 0 ? (
        <Empty>No users have access to this account directly.</Empty>
      ) : (
        <table class="settings-table" aria-label="Users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Access</th>
              <th scope="col">Other permissions</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((a) => {
              // The effective account-wide level: the account's own grant, or one inherited from the organization.
              const grant = accountGrant(a);
              const org = a.resources.find((g) => g.resource_type === "organization");
              const inherited = org && org.access_level > (grant?.access_level ?? 0) ? org : undefined;
              const level = inherited ? inherited.access_level : grant ? grant.access_level : 0;
              const others = a.resources.filter((g) => g !== grant && g !== inherited);
              const self = a.specifier_type === "User" && a.specifier.id === session.user.id;
              const who = a.specifier.email ?? `${a.specifier_type} #${a.specifier.id}`;
              return (
                <tr key={a.id} data-access-id={a.id}>
                  <td>
                    <div class="settings-name">{a.specifier.name || who}</div>
                    <div class="hint">
                      {who}
                      {self && " (you)"}
                      {a.specifier_type === "Invite" && " · invited"}
                    </div>
                  </td>
                  <td>
                    {a.permissions.can_update && !inherited && level < 1000 ? (
                      <>
                        <label class="visually-hidden" for={`access-level-${a.id}`}>
                          Access level of {who}
                        </label>
                        <select
                          id={`access-level-${a.id}`}
                          value={level >= 100 ? "admin" : level >= 10 ? "viewer" : ""}
                          disabled={action.busy}
                          onChange={(e) => changeLevel(a, inputValue(e))}
                        >
                          {level < 10 && <option value="">No account-wide access</option>}
                          <option value="admin">Admin</option>
                          <option value="viewer">Viewer</option>
                        </select>
                      </>
                    ) : (
                      <>
                        <Badge kind={level >= 1000 ? "info" : "muted"}>{levelName(level)}</Badge>
                        {inherited && <span class="hint"> through the organization</span>}
                      </>
                    )}
                  </td>
                  <td>
                    {others.length === 0 ? (
                      <span class="hint">—</span>
                    ) : (
                      <ul class="settings-grants">
                        {others.map((g, i) => (
                          <li key={i}>
                            {grantLabel(g, options.data ?? [])} <Badge kind="muted">{levelName(g.access_level)}</Badge>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td class="settings-actions">
                    {a.permissions.can_destroy && (
                      <ConfirmButton
                        label="Remove"
                        confirmLabel={`Remove ${who}`}
                        disabled={action.busy}
                        onConfirm={() => remove(a)}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Modal title="Add user" open={adding} onClose={() => setAdding(false)}>
        <AddUserForm
          onAdded={(user) => {
            setAdding(false);
            setAdded(user);
            accesses.reload();
          }}
        />
      </Modal>
    </section>
  );
}

function AddUserForm({ onAdded }: { onAdded: (user: AddedUser) => void }) {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [level, setLevel] = useState("viewer");
  const [password, setPassword] = useState("");
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const user: Record<string, string> = { email: email.trim(), name: name.trim(), access_level: level };
    if (password) user.password = password;
    const created = await action.run(() => api.post<AddedUser>(accountPath("/users"), { user }));
    if (created) onAdded(created);
  };
  return (
    <form onSubmit={submit} class="settings-form">
      <ErrorBanner error={action.error} />
      <Field label="Email">
        {(id) => (
          <input id={id} type="email" required autoFocus value={email} onInput={(e) => setEmail(inputValue(e))} />
        )}
      </Field>
      <Field label="Name" hint="Optional.">
        {(id) => <input id={id} value={name} onInput={(e) => setName(inputValue(e))} />}
      </Field>
      <Field label="Access level">
        {(id) => (
          <select id={id} value={level} onChange={(e) => setLevel(inputValue(e))}>
            <option value="viewer">Viewer — reads everything in the account</option>
            <option value="admin">Admin — manages the account</option>
          </select>
        )}
      </Field>
      <Field
        label="Password"
        hint="Leave empty to generate one (shown once). Ignored when the user exists already: they keep theirs."
      >
        {(id) => (
          <input
            id={id}
            type="password"
            autoComplete="new-password"
            minLength={8}
            value={password}
            onInput={(e) => setPassword(inputValue(e))}
          />
        )}
      </Field>
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? "Adding…" : "Add user"}
        </button>
      </div>
    </form>
  );
}

// -------------------------------------------------------------------------------------------------- Account

function AccountSection() {
  const { account, session, refresh } = useSession();
  const admin = isAdmin(account);
  const [name, setName] = useState(account.name);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    // The session (and the top bar) carry the account's name: read it afresh.
    await action.run(async () => {
      await api.patch(accountPath(""), { account: { name: name.trim() } });
      await refresh();
    });
  };
  return (
    <section aria-labelledby="settings-account-title" class="settings-account">
      <h2 id="settings-account-title">Account</h2>
      <dl class="logs-dl settings-account-facts">
        <dt>Account ID</dt>
        <dd>
          <code>{account.id}</code>
        </dd>
        <dt>Your access</dt>
        <dd>{levelName(Math.max(...account.access_levels))}</dd>
        <dt>Signed in as</dt>
        <dd>{session.user.email}</dd>
      </dl>
      <form onSubmit={submit} class="settings-form">
        <ErrorBanner error={action.error} />
        <Field label="Account name" hint={admin ? undefined : "Only account admins can rename the account."}>
          {(id) => (
            <input
              id={id}
              required
              maxLength={255}
              disabled={!admin}
              value={name}
              onInput={(e) => setName(inputValue(e))}
            />
          )}
        </Field>
        {admin && (
          <div class="row">
            <button type="submit" class="primary" disabled={action.busy || name.trim() === account.name}>
              {action.busy ? "Saving…" : "Rename account"}
            </button>
          </div>
        )}
      </form>
    </section>
  );
}
