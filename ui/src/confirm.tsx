/**
 * Confirmation before a destructive action, with the action's error shown in the dialog — next
 * to the button that caused it — rather than somewhere else on the page. One hook per page:
 * `const confirm = useConfirm();` … `confirm.ask({ title, body, confirmLabel, action })` …
 * `{confirm.dialog}`. The dialog closes only when the action succeeded.
 */
import { type ReactNode, useState } from 'react';
import { messageOf } from './api.ts';
import { ConfirmDialog } from './components.tsx';

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  /** Type this text to enable the button (for what cannot be undone). */
  typed?: string;
  action: () => Promise<void>;
}

export function useConfirm(): { ask(r: ConfirmRequest): void; dialog: ReactNode } {
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    if (!request) return;
    setBusy(true);
    setError(null);
    try {
      await request.action();
      setRequest(null);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const dialog = (
    <ConfirmDialog
      open={request !== null}
      title={request?.title ?? ''}
      confirmLabel={request?.confirmLabel ?? 'Confirm'}
      danger
      busy={busy}
      error={error}
      {...(request?.typed !== undefined ? { typed: request.typed } : {})}
      onConfirm={() => void run()}
      onCancel={() => {
        setRequest(null);
        setError(null);
      }}
    >
      {request?.body}
    </ConfirmDialog>
  );
  return {
    ask: (r) => {
      setError(null);
      setRequest(r);
    },
    dialog,
  };
}
