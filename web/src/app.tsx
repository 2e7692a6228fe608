// The shell: sign-in when there is no session, else the navigation, the account switcher and the page the
// hash route names. Each product area lives in pages/<area>/ and gets the route path.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, setCsrfToken, setCurrentAccount, setSignedOutHandler } from "./lib/api";
import { messageOf } from "./lib/hooks";
import { navigate, useRoute } from "./lib/router";
import { SessionContext, type SessionInfo, type SessionState } from "./lib/session";
import { ErrorBanner, Loading } from "./components/ui";
import { SignInPage } from "./pages/SignInPage";
import { SandboxPage } from "./pages/sandbox/SandboxPage";
import { DomainsPage } from "./pages/domains/DomainsPage";
import { TemplatesPage } from "./pages/templates/TemplatesPage";
import { EmailLogsPage } from "./pages/logs/EmailLogsPage";
import { SuppressionsPage } from "./pages/suppressions/SuppressionsPage";
import { SettingsPage } from "./pages/settings/SettingsPage";

const ACCOUNT_KEY = "postroom.account";

const NAV = [
  { path: "/sandbox", label: "Email Sandbox" },
  { path: "/domains", label: "Sending Domains" },
  { path: "/templates", label: "Templates" },
  { path: "/logs", label: "Email Logs" },
  { path: "/suppressions", label: "Suppressions" },
  { path: "/settings", label: "Settings" },
];

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [accountId, setAccountId] = useState<number>(Number(localStorage.getItem(ACCOUNT_KEY)) || 0);
  const [error, setError] = useState<string | null>(null);

  const adopt = (info: SessionInfo) => {
    setCsrfToken(info.csrf_token);
    setSession(info);
  };

  useEffect(() => {
    setSignedOutHandler(() => setSession(null));
    api
      .get<SessionInfo>("/api/session")
      .then(adopt)
      .catch((e) => {
        if (e instanceof ApiError && e.status === 401) setSession(null);
        else setError(messageOf(e));
      });
  }, []);

  if (session === undefined) return error ? <ErrorBanner error={error} /> : <Loading />;
  if (session === null) return <SignInPage onSignedIn={adopt} />;

  const account = session.accounts.find((a) => a.id === accountId) ?? session.accounts[0];
  if (!account)
    return (
      <main class="centered">
        <p>Your user has no access to any account yet. Ask an administrator to grant you access.</p>
        <button type="button" onClick={() => api.del("/api/session").finally(() => setSession(null))}>
          Sign out
        </button>
      </main>
    );
  setCurrentAccount(account.id);

  const state: SessionState = {
    session,
    account,
    switchAccount: (id: number) => {
      localStorage.setItem(ACCOUNT_KEY, String(id));
      setAccountId(id);
      navigate("/sandbox");
    },
    refresh: async () => adopt(await api.get<SessionInfo>("/api/session")),
    signOut: async () => {
      try {
        await api.del("/api/session");
      } finally {
        setCsrfToken("");
        setSession(null);
      }
    },
  };
  return (
    <SessionContext.Provider value={state}>
      <Shell key={account.id} />
    </SessionContext.Provider>
  );
}

function Shell() {
  const path = useRoute();
  useEffect(() => {
    if (path === "/" || path === "") navigate("/sandbox", { replace: true });
  }, [path]);
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <TopBar path={path} />
      <main id="main" tabIndex={-1} class="content">
        <Page path={path} />
      </main>
    </div>
  );
}

function TopBar({ path }: { path: string }) {
  return (
    <SessionContext.Consumer>
      {(state) =>
        state && (
          <header class="topbar">
            <span class="brand" aria-label="Postroom">
              Postroom
            </span>
            <nav aria-label="Main">
              {NAV.map((item) => (
                <a
                  key={item.path}
                  href={`#${item.path}`}
                  class={path.startsWith(item.path) ? "nav-link active" : "nav-link"}
                  aria-current={path.startsWith(item.path) ? "page" : undefined}
                >
                  {item.label}
                </a>
              ))}
            </nav>
            <div class="topbar-right">
              {state.session.accounts.length > 1 ? (
                <label class="account-switcher">
                  <span class="visually-hidden">Account</span>
                  <select
                    value={String(state.account.id)}
                    onChange={(e) => state.switchAccount(Number((e.target as HTMLSelectElement).value))}
                  >
                    {state.session.accounts.map((a) => (
                      <option key={a.id} value={String(a.id)}>
                        {a.name}
                      </option>
                    ))}
                  </select>
                </label>
              ) : (
                <span class="account-name">{state.account.name}</span>
              )}
              <span class="user-email">{state.session.user.email}</span>
              <button type="button" class="small" onClick={() => state.signOut()}>
                Sign out
              </button>
            </div>
          </header>
        )
      }
    </SessionContext.Consumer>
  );
}

function Page({ path }: { path: string }) {
  if (path.startsWith("/sandbox")) return <SandboxPage path={path} />;
  if (path.startsWith("/domains")) return <DomainsPage path={path} />;
  if (path.startsWith("/templates")) return <TemplatesPage path={path} />;
  if (path.startsWith("/logs")) return <EmailLogsPage path={path} />;
  if (path.startsWith("/suppressions")) return <SuppressionsPage path={path} />;
  if (path.startsWith("/settings")) return <SettingsPage path={path} />;
  return <p>Page not found.</p>;
}
