import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from './api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on reload()); ignores answers to superseded requests. */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown; loading: boolean }>({ key, data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: undefined, loading: true }));
    loader.current().then(
      (data) => mine === seq.current && setState({ key, data, error: undefined, loading: false }),
      (error: unknown) => mine === seq.current && setState({ key, data: undefined, error, loading: false }),
    );
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.key === key ? state.data : undefined, error: state.key === key ? state.error : undefined, loading: state.loading || state.key !== key, reload };
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Wharf` : 'Wharf';
  }, [title]);
}

export interface Submit {
  busy: boolean;
  /** The last action's error, for display next to the control that caused it. */
  error: string | null;
  setError(message: string | null): void;
  /** Prevents the form's default, marks busy while `action` runs, and keeps its error. */
  run(e: FormEvent | null, action: () => Promise<void>): Promise<void>;
}

/** The state every form repeats around its submit: busy while it runs, the error it ended with. */
export function useSubmit(): Submit {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (e: FormEvent | null, action: () => Promise<void>) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
