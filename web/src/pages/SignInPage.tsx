// Sign-in with the user's e-mail and password; the server answers with an HTTP-only session cookie.
import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { useAction } from "../lib/hooks";
import type { SessionInfo } from "../lib/session";
import { ErrorBanner } from "../components/ui";

export function SignInPage({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const session = await run(() => api.post<SessionInfo>("/api/session", { email, password }));
    if (session) onSignedIn(session);
  };
  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Postroom</h1>
        <ErrorBanner error={error} />
        <div class="field">
          <label for="signin-email">Email</label>
          <input
            id="signin-email"
            type="email"
            autoComplete="username"
            required
            autoFocus
            value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input
            id="signin-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="hint">
          The first admin's password was printed when Postroom first started. More users: <code>postroom admin create-user</code>.
        </p>
      </form>
    </main>
  );
}
