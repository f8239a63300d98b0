import type { DocReplicationInfo, Replica, SyncStatus } from '@lattice/replication';
import { useCallback, useRef, useSyncExternalStore } from 'react';
import { useDialog } from '../hooks/useDialog.ts';
import { useNow } from '../hooks/useNow.ts';
import { useDocReplicationInfo, useReplicationInfo } from '../hooks/useReplicationInfo.ts';
import {
  ageText,
  lagText,
  peerStateText,
  relayStateText,
  rttText,
  stateVectorRows,
} from '../lib/replicationView.ts';
import type { ClusterWatcher } from '../workspace/ClusterWatcher.ts';
import { CloseButton } from './CloseButton.tsx';

interface Props {
  replica: Replica;
  status: SyncStatus;
  workspaceId: string;
  /** The cluster as the serving relay describes it (null: a fixed relay list, no cluster view). */
  cluster?: ClusterWatcher | null;
  /** The open note, if any: its doc's vectors are shown beside the index doc's. */
  note: { id: string; title: string } | null;
  onClose(): void;
}

/**
 * "Where is my work?" in detail: saved on this device, saved on each relay,
 * what is pending, when we last synced, the state vectors behind those
 * answers, and any session-guarantee warning. A side sheet, so the note stays
 * editable and the numbers can be watched as they change.
 */
export function ReplicationPanel({ replica, status, workspaceId, cluster, note, onClose }: Props) {
  const info = useReplicationInfo(replica);
  const clusterView = useClusterView(cluster ?? null);
  const docNames = note ? [`${workspaceId}/${note.id}`, workspaceId] : [workspaceId];
  const docs = useDocReplicationInfo(replica, docNames);
  const now = useNow(1000);
  const closeRef = useRef<HTMLButtonElement>(null);

  const dialogRef = useRef<HTMLElement>(null);
  // Focus moves in, Escape closes, focus returns to the opener.
  useDialog(dialogRef, onClose, { modal: false, initialFocus: closeRef });

  const noRelay = info.relays.length === 0;
  const connected = info.relays.some((r) => r.state === 'connected');
  const savedOnRelay = noRelay
    ? 'No relay configured'
    : info.pendingDocs === 0 && !status.pendingLocal
      ? connected
        ? 'Yes — all changes'
        : 'Nothing waiting — no change since the last sync'
      : connected
        ? 'Not yet — waiting for the relay to confirm'
        : 'Not yet — will upload when connected';

  return (
    <aside
      ref={dialogRef}
      className="replication-panel"
      data-testid="replication-panel"
      aria-label="Replication"
    >
      <header className="rp-header">
        <h2>Replication</h2>
        <CloseButton
          label="Close replication details"
          onClick={onClose}
          testId="close-replication"
          ref={closeRef}
        />
      </header>

      <dl className="rp-summary">
        <div data-testid="rp-saved-device" data-value={String(info.savedOnDevice)}>
          <dt>Saved on this device</dt>
          <dd>
            <Tick ok={info.savedOnDevice} />
            {info.savedOnDevice ? 'Yes' : 'Writing…'}
          </dd>
        </div>
        <div data-testid="rp-saved-relay" data-value={String(!noRelay && info.pendingDocs === 0)}>
          <dt>Saved on relay</dt>
          <dd>
            <Tick ok={!noRelay && info.pendingDocs === 0 && !status.pendingLocal} />
            {savedOnRelay}
          </dd>
        </div>
        <div data-testid="rp-pending" data-value={info.pendingDocs}>
          <dt>Pending changes</dt>
          <dd>
            {info.pendingDocs === 0
              ? 'None'
              : `${info.pendingDocs} ${info.pendingDocs === 1 ? 'document' : 'documents'} not yet confirmed by a relay`}
          </dd>
        </div>
        <div data-testid="rp-last-sync">
          <dt>Last sync</dt>
          <dd
            title={
              info.lastSyncAt === null ? undefined : new Date(info.lastSyncAt).toLocaleString()
            }
          >
            {ageText(info.lastSyncAt, now)}
          </dd>
        </div>
      </dl>

      <section className="rp-section">
        <h3>Relays</h3>
        {noRelay ? (
          <p className="rp-empty">This workspace lives on this device only.</p>
        ) : (
          <ul className="rp-relays">
            {info.relays.map((relay) => (
              <li
                key={relay.url}
                className="rp-relay"
                data-testid="relay-info"
                data-state={relay.state}
              >
                <div className="rp-relay-head">
                  <code className="rp-url" title={relay.url}>
                    {relay.url}
                  </code>
                  <span className="rp-pill" data-state={relay.state}>
                    {relayStateText(relay.state)}
                  </span>
                </div>
                <dl className="rp-facts">
                  <div>
                    <dt>Relay id</dt>
                    <dd>
                      <code title={relay.relayId ?? undefined}>{relay.relayId ?? '—'}</code>
                    </dd>
                  </div>
                  <div>
                    <dt>Last ack</dt>
                    <dd data-testid="relay-last-ack">{ageText(relay.lastAckAt, now)}</dd>
                  </div>
                  <div>
                    <dt>Heartbeat</dt>
                    <dd data-testid="relay-rtt">
                      {/* A round trip measured on a link that is gone says nothing about now. */}
                      {rttText(relay.state === 'connected' ? relay.heartbeatRttMs : null)}
                    </dd>
                  </div>
                  {relay.protocol === 'y-websocket' ? (
                    <div>
                      <dt>Protocol</dt>
                      <dd>plain y-websocket</dd>
                    </div>
                  ) : null}
                </dl>
              </li>
            ))}
          </ul>
        )}
      </section>

      {info.cluster.relaysKnown > 1 || clusterView.view ? (
        <section className="rp-section" data-testid="rp-cluster">
          <h3>Cluster</h3>
          <p
            data-testid="rp-cluster-count"
            data-holding={info.cluster.relaysHoldingAll}
            data-known={info.cluster.relaysKnown}
          >
            Every change on this device is on {info.cluster.relaysHoldingAll} of{' '}
            {info.cluster.relaysKnown} relays.
          </p>
          {clusterView.view ? (
            <>
              <p className="rp-hint">
                As relay <code>{clusterView.view.relayId}</code> sees its peers (last anti-entropy{' '}
                {ageText(clusterView.view.lastAntiEntropyAt, now)}):
              </p>
              <ul className="rp-relays">
                {clusterView.view.peers.map((peer, i) => (
                  <li
                    // biome-ignore lint/suspicious/noArrayIndexKey: a peer may have neither id nor url yet
                    key={`${peer.relayId ?? ''}|${peer.url ?? ''}|${i}`}
                    className="rp-relay"
                    data-testid="cluster-peer"
                    data-state={peer.state}
                    data-relay-id={peer.relayId ?? ''}
                  >
                    <div className="rp-relay-head">
                      <code className="rp-url" title={peer.url ?? undefined}>
                        {peer.url ?? '(url unknown)'}
                      </code>
                      <span
                        className="rp-pill"
                        data-state={peer.state === 'down' ? 'offline' : peer.state}
                      >
                        {peerStateText(peer.state)}
                      </span>
                    </div>
                    <dl className="rp-facts">
                      <div>
                        <dt>Relay id</dt>
                        <dd>
                          <code>{peer.relayId ?? '—'}</code>
                        </dd>
                      </div>
                      <div>
                        <dt>Lag</dt>
                        <dd data-testid="cluster-peer-lag">{lagText(peer.lagOps)}</dd>
                      </div>
                      <div>
                        <dt>Link</dt>
                        <dd>{peer.direction}</dd>
                      </div>
                    </dl>
                  </li>
                ))}
              </ul>
            </>
          ) : clusterView.error ? (
            <p className="rp-empty">Cluster view unavailable: {clusterView.error}</p>
          ) : null}
        </section>
      ) : null}

      <section className="rp-section">
        <h3>Session guarantees</h3>
        {info.sessionWarnings.length === 0 ? (
          <p className="rp-empty" data-testid="session-ok">
            Everything shown is at least as new as what this session has already seen and written.
          </p>
        ) : (
          <ul className="rp-warnings">
            {info.sessionWarnings.map((w) => (
              <li
                key={`${w.docName}:${w.guarantee}`}
                className="rp-warning"
                data-testid="session-warning"
                data-guarantee={w.guarantee}
                data-doc={w.docName}
              >
                <strong>{w.message}</strong>
                <span>
                  <span className="rp-guarantee">{guaranteeName(w.guarantee)}</span> ·{' '}
                  {docLabel(w.docName, workspaceId, note)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="rp-section">
        <h3>State vectors</h3>
        <p className="rp-hint">
          Operations per writer: what this device holds beside what each relay has confirmed
          storing. A highlighted cell is not on that relay yet.
        </p>
        {docs.map((doc) => (
          <VectorTable
            key={doc.docName}
            doc={doc}
            title={docLabel(doc.docName, workspaceId, note)}
          />
        ))}
      </section>
    </aside>
  );
}

function VectorTable({ doc, title }: { doc: DocReplicationInfo; title: string }) {
  const rows = stateVectorRows(doc);
  const labelOf = (a: DocReplicationInfo['acked'][number]) =>
    doc.acked.length === 1
      ? 'Relay'
      : a.relayUrl !== ''
        ? hostOf(a.relayUrl)
        : a.relayId.slice(0, 8) || '?';
  return (
    <div className="rp-vector" data-testid="sv-table" data-doc={doc.docName}>
      <div className="rp-vector-title">
        <span>{title}</span>
        <span className="rp-vector-state" data-pending={String(doc.pendingLocal)}>
          {doc.pendingLocal ? 'waiting for relay' : 'saved on relay'}
        </span>
      </div>
      {rows.length === 0 ? (
        <p className="rp-empty">Nothing written yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Writer</th>
              <th scope="col">This device</th>
              {doc.acked.map((a) => (
                <th
                  scope="col"
                  key={`${a.relayId}|${a.relayUrl}`}
                  title={[a.relayUrl, a.relayId].filter((s) => s !== '').join(' · ')}
                >
                  {labelOf(a)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.clientId}>
                <th scope="row">
                  <code>{row.clientId}</code>
                </th>
                <td>{row.local}</td>
                {row.acked.map((clock, i) => (
                  <td
                    // biome-ignore lint/suspicious/noArrayIndexKey: one column per configured relay, in order
                    key={i}
                    className={row.behind[i] ? 'behind' : undefined}
                    title={row.behind[i] ? 'Not confirmed by this relay yet' : undefined}
                  >
                    {clock}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The watcher's latest answer, re-read whenever it asked again. */
function useClusterView(watcher: ClusterWatcher | null): {
  view: ClusterWatcher['view'];
  error: string | null;
} {
  const subscribe = useCallback(
    (listener: () => void) => watcher?.subscribe(listener) ?? (() => undefined),
    [watcher],
  );
  const view = useSyncExternalStore(subscribe, () => watcher?.view ?? null);
  const error = useSyncExternalStore(subscribe, () => watcher?.error ?? null);
  return { view, error };
}

function Tick({ ok }: { ok: boolean }) {
  return <span className="rp-tick" data-ok={String(ok)} aria-hidden="true" />;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function guaranteeName(g: string): string {
  return g.replaceAll('-', ' ');
}

function docLabel(
  docName: string,
  workspaceId: string,
  note: { id: string; title: string } | null,
): string {
  if (docName === workspaceId) return 'Note list (index)';
  if (note && docName === `${workspaceId}/${note.id}`) {
    return `This note — ${note.title.trim() || 'Untitled'}`;
  }
  return docName.startsWith(`${workspaceId}/`) ? 'Another note' : docName;
}
