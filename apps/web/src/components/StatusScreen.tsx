import type { ReactNode } from 'react';

interface Props {
  title: string;
  message?: string;
  children?: ReactNode;
}

/** A whole-window message: opening a workspace, a bad link, or an error with a way out. */
export function StatusScreen({ title, message, children }: Props) {
  return (
    <main className="status-screen">
      <div className="status-card">
        <h1>{title}</h1>
        {message ? <p>{message}</p> : null}
        {children}
      </div>
    </main>
  );
}
