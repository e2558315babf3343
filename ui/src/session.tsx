/** Who is signed in, shared by every page; sign-in and sign-out. */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, setCsrfToken } from './api.ts';
import type { SessionInfo, UserWithOrgs as User } from './api.gen.ts';

interface SessionState {
  /** undefined while the first check is in flight. */
  user: User | null | undefined;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  refresh(): Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  const apply = useCallback((s: SessionInfo) => {
    setCsrfToken(s.csrfToken);
    setUser(s.signedIn ? s.user : null);
  }, []);

  const refresh = useCallback(async () => {
    try {
      apply(await api<SessionInfo>('GET', '/api/v1/session'));
    } catch {
      setUser(null);
    }
  }, [apply]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const value = useMemo<SessionState>(
    () => ({
      user,
      refresh,
      async signIn(username, password) {
        apply(await api<SessionInfo>('POST', '/api/v1/session', { username, password }));
      },
      async signOut() {
        await api('DELETE', '/api/v1/session');
        setCsrfToken(null);
        setUser(null);
      },
    }),
    [user, refresh, apply],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
