import { useCallback, useEffect, useRef, useState } from 'react';

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
