// The signed-in user, the accounts they may open and the one open now.
import { createContext } from "preact";
import { useContext } from "preact/hooks";

export interface AccountSummary {
  id: number;
  name: string;
  access_levels: number[];
}

export interface SessionInfo {
  user: { id: number; email: string; name: string };
  csrf_token: string;
  accounts: AccountSummary[];
}

export interface SessionState {
  session: SessionInfo;
  account: AccountSummary;
  switchAccount: (id: number) => void;
  signOut: () => Promise<void>;
  // Reads the session again (account names and levels changed).
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside a signed-in page");
  return state;
}

// Access levels as the API reports them (1000 owner, 100 admin, 10 viewer; 1 indeterminate).
export const isAdmin = (account: AccountSummary) => account.access_levels.some((l) => l >= 100);
