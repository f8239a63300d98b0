import * as prng from 'lib0/prng';
import * as Y from 'yjs';
import type { BackoffOptions } from '../../backoff.ts';
import type {
  ConnectionHandler,
  RelayConnection,
  StorageAdapter,
  TransportFactory,
} from '../../ports.ts';
import { CloseCode, decodeFrame, FINGERPRINT_BYTES, FrameType } from '../../protocol.ts';
import { Replica } from '../../Replica.ts';
import { RelayCore } from '../../relay/RelayCore.ts';
import type { FrameDirection } from '../../transport/MemoryTransport.ts';
import { CrashableStorage, CrashedError } from './CrashableStorage.ts';
import {
  type DocState,
  formatVector,
  mergeVectorInto,
  missingDeletions,
  missingFrom,
  readStoredDoc,
  type StateVectorMap,
  sameState,
} from './docState.ts';
import { RelayNode } from './RelayNode.ts';
import { ReplicaNode } from './ReplicaNode.ts';
import { type CutMode, type LinkFaults, type SimLink, SimNetwork } from './SimNetwork.ts';
import type { CrashInfo, SimView, SimWorkload } from './workload.ts';

/** Virtual time, e.g. vitest fake timers: `{ now: Date.now, advance: (ms) => vi.advanceTimersByTimeAsync(ms) }`. */
export interface SimClock {
  now(): number;
  /** Runs every timer due within `ms` (and the microtasks they cause). */
  advance(ms: number): Promise<unknown>;
}

/** Relative weights of what one step of the random schedule does. */
export interface SimStepWeights {
  /** A user action on a running replica (the workload's `act`). */
  act: number;
  /** Split all nodes into random groups; links across groups are cut. */
  partition: number;
  /** Remove every cut. */
  heal: number;
  crashReplica: number;
  restartReplica: number;
  /** A replica crashes and its device is gone (a new one with empty storage takes its seat). */
  loseDevice: number;
  crashRelay: number;
  restartRelay: number;
  /** A crashed relay loses its data directory. */
  wipeRelay: number;
  /** Cut one relay↔relay pair of the topology (visibly or silently) until the next heal. */
  cutPeerLink: number;
}

/**
 * How relays peer (gossip, `RelayCore.addPeer`): `none` — independent relays
 * (the settle phase has replicas carry state between them); `mesh` — every
 * pair; `line` — R0–R1–R2–…, so gossip must pass through the relays between.
 */
export type SimTopology = 'none' | 'mesh' | 'line';

/** Timings of the simulated world (virtual ms). */
export interface SimTiming {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  backoff: BackoffOptions;
  commitWindowMs: number;
  idleUnloadMs: number;
  compactAfterUpdates: number;
  /** Virtual time between two steps, uniform in [min, max]. */
  stepGapMs: readonly [number, number];
  replicaStorageLatencyMs: readonly [number, number];
  relayStorageLatencyMs: readonly [number, number];
  /** How long the network must stay quiet (all synced, no sync frame in flight) to count as quiescent. */
  quietMs: number;
  /** Give up settling after this long: a liveness failure. */
  settleLimitMs: number;
  /**
   * Relays with peers: each run picks one of these periodic anti-entropy
   * intervals (0 disables periodic rounds, so push and the rounds on
   * reconnect must carry everything alone).
   */
  antiEntropyIntervalsMs: readonly number[];
  /** Relays with peers: heartbeat probes and timeout of their sockets (peer links included). */
  relayHeartbeatIntervalMs: number;
  relayHeartbeatTimeoutMs: number;
}

export interface SimulationOptions {
  seed: number;
  clock: SimClock;
  workload: SimWorkload;
  /** Browser-like replicas (default 3). */
  replicas?: number;
  /** Relays (default 1). */
  relays?: number;
  /** How relays peer (default `mesh` with several relays, `none` with one). */
  topology?: SimTopology;
  /**
   * Chance that one seeded relay of a peered topology joins late: it starts
   * with an empty data directory at a seeded step and must catch up on
   * everything from its peers (default 0.3; only with `mesh`/`line`).
   */
  lateJoin?: number;
  /** Number of random steps, uniform in [min, max] (default [40, 80]). */
  steps?: readonly [number, number];
  link?: Partial<LinkFaults>;
  weights?: Partial<SimStepWeights>;
  timing?: Partial<SimTiming>;
  /**
   * Wraps the storage each process gets (fault injection, e.g. a disk that
   * loses writes, to show that the checks catch it). Default: unwrapped.
   */
  wrapStorage?: (storage: StorageAdapter, node: ReplicaNode | RelayNode) => StorageAdapter;
  /**
   * Rewrites every frame a relay sends on its peer links, inbound and
   * outbound (fault injection, e.g. a relay that never pushes, to show that
   * the checks catch it). Default: untouched.
   */
  peerFrames?: (relay: RelayNode, frame: Uint8Array) => Uint8Array;
}

/** Outcome of one seeded run. */
export interface SimReport {
  seed: number;
  ok: boolean;
  /** Everything that went wrong; empty when `ok`. */
  problems: string[];
  /** `seed=<n>` and counts of what the schedule did, one line. */
  summary: string;
  /** Every step with its virtual time. */
  trace: string[];
}

export const DEFAULT_LINK_FAULTS: LinkFaults = {
  latencyMs: [1, 40],
  reorder: 0.1,
  duplicate: 0.03,
  drop: 0.003,
};

export const DEFAULT_STEP_WEIGHTS: SimStepWeights = {
  act: 70,
  partition: 5,
  heal: 6,
  crashReplica: 3,
  restartReplica: 8,
  loseDevice: 1,
  crashRelay: 2,
  restartRelay: 8,
  wipeRelay: 0.5,
  cutPeerLink: 4,
};

export const DEFAULT_TIMING: SimTiming = {
  heartbeatIntervalMs: 400,
  heartbeatTimeoutMs: 1200,
  backoff: { baseMs: 50, maxMs: 1500 },
  commitWindowMs: 3,
  idleUnloadMs: 1500,
  compactAfterUpdates: 40,
  stepGapMs: [0, 250],
  replicaStorageLatencyMs: [0, 8],
  relayStorageLatencyMs: [0, 4],
  quietMs: 1500,
  settleLimitMs: 120_000,
  antiEntropyIntervalsMs: [0, 4000],
  relayHeartbeatIntervalMs: 1000,
  relayHeartbeatTimeoutMs: 3000,
};

/** Relay log events that must never happen on a relay that has not crashed. */
const RELAY_FAULT_EVENTS = new Set([
  'session.error',
  'room.load_failed',
  'room.commit_failed',
  'room.compact_failed',
  'room.deliver_failed',
  'room.ack_failed',
  'room.unload_flush_failed',
]);
/** Close codes a relay uses only when a client misbehaved or the relay failed. */
const FAULT_CLOSE_CODES = new Set<number>([
  CloseCode.MalformedFrame,
  CloseCode.UnsupportedVersion,
  CloseCode.InternalError,
]);
/** Replica errors that are the expected face of faults (dead links, a crashed process's storage). */
const EXPECTED_REPLICA_ERRORS = [/relay silent for/, /handshake timed out/, /crashed/];

/** Ends a run early; its message becomes a problem. */
class SimAbort extends Error {
  override name = 'SimAbort';
}

type Action = keyof SimStepWeights;

/** One peering of the topology: who dials whom (`both`: each dials, the duplicate-link rule keeps one). */
interface PeerEdge {
  a: RelayNode;
  b: RelayNode;
  dials: 'both' | 'a' | 'b';
}

/**
 * A deterministic, seeded simulation of the replication system: N replicas
 * and M relays — gossiping with their peers in a mesh or a line, or
 * independent — on a `SimNetwork` that delays, reorders, duplicates and
 * drops frames on every link, under a random schedule of user actions (the
 * workload's), network partitions, cut peer links, crashes, lost devices,
 * wiped relays, a relay joining late and restarts — then everything heals
 * and restarts, the run waits until quiescent, and checks: identical state
 * on every node (every relay too), no pending structs, nothing acknowledged
 * (`Ack`, `ClusterAck`) lost, nothing stored before a crash lost, plus the
 * workload's own checks.
 *
 * Needs virtual time (`SimClock`) driving the global timers. Same seed, same run.
 */
export class Simulation implements SimView {
  readonly seed: number;
  readonly replicas: ReplicaNode[];
  readonly relays: RelayNode[];
  readonly network: SimNetwork;
  readonly trace: string[] = [];
  #clock: SimClock;
  #workload: SimWorkload;
  #timing: SimTiming;
  #weights: SimStepWeights;
  #steps: readonly [number, number];
  #wrap: NonNullable<SimulationOptions['wrapStorage']>;
  #peerFrames: SimulationOptions['peerFrames'];
  /** Separate streams, so changing how often one is drawn leaves the others alone. */
  #schedule: prng.PRNG;
  #acts: prng.PRNG;
  #jitter: prng.PRNG;
  #ids: prng.PRNG;
  /** Topology draws: who dials whom, the late joiner, each replica's first relay. */
  #layout: prng.PRNG;
  #topology: SimTopology;
  #edges: PeerEdge[] = [];
  #relayByName = new Map<string, RelayNode>();
  /** The relay that joins late with an empty data directory, if any, and before which step. */
  #late: { relay: RelayNode; step: number } | null = null;
  #antiEntropyIntervalMs = 0;
  /** While diagnosing a run that never quiets: sync frames sent, by `from→to type`. */
  #traffic: Map<string, number> | null = null;
  #usedClientIds = new Set<number>();
  #problems: string[] = [];
  #counts = new Map<string, number>();
  #startTime = 0;
  #wipes: number[] = [];
  /** What each node's disk held when its process crashed (void once that disk is discarded). */
  #crashStates: { node: string; disk: object; label: string; docs: Map<string, DocState> }[] = [];
  /** Which replica incarnation (label) each Y.Doc client id belongs to. */
  #clientOwner = new Map<number, string>();
  /** Replica incarnations that reached `synced` at least once. */
  #everSynced = new Set<string>();
  /** Dead replica incarnations: their disk at death (`null` once that disk is gone). */
  #deaths = new Map<string, Map<string, DocState> | null>();

  /** Runs one seeded simulation start to finish and reports; never throws for a failing run. */
  static async run(options: SimulationOptions): Promise<SimReport> {
    const sim = new Simulation(options);
    return sim.#run();
  }

  private constructor(options: SimulationOptions) {
    const { seed } = options;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be a uint32, got ${seed}`);
    }
    const replicas = options.replicas ?? 3;
    const relays = options.relays ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError('need >= 1 replica');
    if (!Number.isInteger(relays) || relays < 1) throw new RangeError('need >= 1 relay');
    const topology = options.topology ?? (relays > 1 ? 'mesh' : 'none');
    if (topology !== 'none' && topology !== 'mesh' && topology !== 'line') {
      throw new RangeError(`topology must be none, mesh or line, got ${String(topology)}`);
    }
    const lateJoin = options.lateJoin ?? 0.3;
    if (!(lateJoin >= 0 && lateJoin <= 1)) {
      throw new RangeError(`lateJoin must be a probability, got ${lateJoin}`);
    }
    this.seed = seed;
    this.#clock = options.clock;
    this.#workload = options.workload;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#weights = { ...DEFAULT_STEP_WEIGHTS, ...options.weights };
    this.#steps = options.steps ?? [40, 80];
    this.#wrap = options.wrapStorage ?? ((storage) => storage);
    this.#peerFrames = options.peerFrames;
    this.#schedule = prng.create(stream(seed, 1));
    this.#acts = prng.create(stream(seed, 2));
    this.#jitter = prng.create(stream(seed, 3));
    this.#ids = prng.create(stream(seed, 4));
    this.#layout = prng.create(stream(seed, 6));
    this.#topology = topology;
    this.network = new SimNetwork({
      random: prng.create(stream(seed, 5)),
      now: () => this.#clock.now(),
      faults: { ...DEFAULT_LINK_FAULTS, ...options.link },
      observe: (link, frame, direction) => this.#observe(link, frame, direction),
      // Periodic anti-entropy rounds never stop: settling instead waits for equal digests.
      isBackground: (frame) =>
        frame[0] === FrameType.Heartbeat ||
        frame[0] === FrameType.Digest ||
        frame[0] === FrameType.DigestDocs,
    });
    this.replicas = Array.from({ length: replicas }, (_, i) => new ReplicaNode(i));
    this.relays = Array.from({ length: relays }, (_, i) => new RelayNode(i));
    for (const relay of this.relays) this.#relayByName.set(relay.name, relay);
    this.#layOut(lateJoin);
    for (const relay of this.relays) {
      this.network.addEndpoint(relay.name, relay.url, () => {
        const core = relay.core;
        if (core === null) return relay.downMode;
        const rewrite = this.#peerFrames;
        if (rewrite === undefined) return (conn) => core.acceptMultiplexed(conn);
        return (conn) => acceptRewritingPeers(conn, core, (frame) => rewrite(relay, frame));
      });
    }
  }

  /** Draws the peerings, the late joiner and the anti-entropy interval (from their own stream). */
  #layOut(lateJoin: number): void {
    if (this.#topology === 'none' || this.relays.length < 2) return;
    const r = this.#layout;
    const n = this.relays.length;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (this.#topology === 'line' && j !== i + 1) continue;
        // Half the pairs are configured on both sides (the duplicate-link rule
        // must keep one), the others on one side only (that side alone redials).
        const pick = prng.int32(r, 0, 3);
        const dials = pick < 2 ? 'both' : pick === 2 ? 'a' : 'b';
        this.#edges.push({ a: this.relays[i]!, b: this.relays[j]!, dials });
      }
    }
    if (prng.real53(r) < lateJoin) this.#late = { relay: prng.oneOf(r, this.relays), step: 0 };
    const intervals = this.#timing.antiEntropyIntervalsMs;
    if (intervals.length === 0) throw new RangeError('antiEntropyIntervalsMs needs a choice');
    this.#antiEntropyIntervalMs = prng.oneOf(r, [...intervals]);
  }

  // ---- SimView ----

  now(): number {
    return this.#clock.now();
  }

  ackedVector(docName: string): StateVectorMap {
    const merged: StateVectorMap = new Map();
    for (const relay of this.relays) {
      const acked = relay.acked.get(docName);
      if (acked) mergeVectorInto(merged, acked);
    }
    return merged;
  }

  wipedSince(t: number): boolean {
    return this.#wipes.some((w) => w >= t);
  }

  note(line: string): void {
    const t = ((this.#clock.now() - this.#startTime) / 1000).toFixed(3);
    this.trace.push(`${t}s ${line}`);
  }

  // ---- the run ----

  async #run(): Promise<SimReport> {
    this.#startTime = this.#clock.now();
    try {
      const late = this.#late;
      for (const relay of this.relays) if (relay !== late?.relay) this.#startRelay(relay);
      for (const node of this.replicas) await this.#startReplica(node);
      const steps = prng.int32(this.#schedule, this.#steps[0], this.#steps[1]);
      this.#count('steps', steps);
      if (late !== null) late.step = prng.int32(this.#layout, 0, Math.max(0, steps - 1));
      for (let i = 0; i < steps; i++) {
        await this.#clock.advance(this.#between(this.#schedule, this.#timing.stepGapMs));
        if (late !== null && i === late.step) this.#startRelay(late.relay);
        await this.#step();
      }
      await this.#settle();
      await this.#check();
    } catch (err) {
      const message = err instanceof SimAbort ? err.message : `harness error: ${stack(err)}`;
      this.#problems.push(message);
    } finally {
      this.#teardown();
    }
    this.#count('virtualMs', Math.round(this.#clock.now() - this.#startTime));
    return {
      seed: this.seed,
      ok: this.#problems.length === 0,
      problems: this.#problems,
      summary: this.#summary(),
      trace: this.trace,
    };
  }

  async #step(): Promise<void> {
    const up = this.replicas.filter((n) => n.up);
    const down = this.replicas.filter((n) => !n.up);
    const relaysUp = this.relays.filter((r) => r.up);
    // A relay that has not joined yet is not down: it has never run.
    const relaysDown = this.relays.filter((r) => !r.up && r.incarnation > 0);
    const w = this.#weights;
    const options: [Action, number][] = [
      ['act', up.length > 0 ? w.act : 0],
      ['partition', w.partition],
      ['heal', w.heal],
      ['crashReplica', up.length > 0 ? w.crashReplica : 0],
      ['restartReplica', down.length > 0 ? w.restartReplica : 0],
      ['loseDevice', up.length > 0 ? w.loseDevice : 0],
      ['crashRelay', relaysUp.length > 0 ? w.crashRelay : 0],
      ['restartRelay', relaysDown.length > 0 ? w.restartRelay : 0],
      ['wipeRelay', relaysDown.length > 0 ? w.wipeRelay : 0],
      // Last, so runs without peer links draw exactly as before it existed.
      ['cutPeerLink', this.#edges.length > 0 ? w.cutPeerLink : 0],
    ];
    const action = weighted(this.#schedule, options);
    if (action === null) return;
    this.#count(action);
    switch (action) {
      case 'act': {
        const node = prng.oneOf(this.#schedule, up);
        const what = await this.#during(this.#workload.act(node, this.#acts), `${node.label} act`);
        this.note(`${node.label} ${what}`);
        return;
      }
      case 'partition':
        return this.#partition();
      case 'heal':
        this.network.unblockAll();
        this.note('heal');
        return;
      case 'crashReplica':
        return this.#crashReplica(prng.oneOf(this.#schedule, up), 'crash');
      case 'loseDevice':
        return this.#crashReplica(prng.oneOf(this.#schedule, up), 'device-lost');
      case 'restartReplica':
        return this.#startReplica(prng.oneOf(this.#schedule, down));
      case 'crashRelay':
        return this.#crashRelay(prng.oneOf(this.#schedule, relaysUp));
      case 'restartRelay':
        this.#startRelay(prng.oneOf(this.#schedule, relaysDown));
        return;
      case 'wipeRelay': {
        const relay = prng.oneOf(this.#schedule, relaysDown);
        relay.wipe();
        this.#wipes.push(this.#clock.now());
        this.#crashStates = this.#crashStates.filter((s) => s.node !== relay.name);
        this.note(`${relay.label} data directory wiped`);
        return;
      }
      case 'cutPeerLink': {
        const { a, b } = prng.oneOf(this.#schedule, this.#edges);
        const mode: CutMode = prng.bool(this.#schedule) ? 'silent' : 'visible';
        this.network.block(a.name, b.name, mode);
        this.note(`cut ${a.name}↔${b.name} ${mode}`);
        return;
      }
    }
  }

  /** Splits all nodes into 2–3 random groups and cuts every replica↔relay and relay↔relay link across groups. */
  #partition(): void {
    const r = this.#schedule;
    const groups = prng.int32(r, 2, 3);
    const of = new Map<string, number>();
    for (const node of [...this.replicas, ...this.relays]) {
      of.set(node.name, prng.int32(r, 0, groups - 1));
    }
    const mode: CutMode = prng.bool(r) ? 'silent' : 'visible';
    this.network.unblockAll();
    for (const replica of this.replicas) {
      for (const relay of this.relays) {
        if (of.get(replica.name) !== of.get(relay.name)) {
          this.network.block(replica.name, relay.name, mode);
        }
      }
    }
    for (const [i, a] of this.relays.entries()) {
      for (const b of this.relays.slice(i + 1)) {
        if (of.get(a.name) !== of.get(b.name)) this.network.block(a.name, b.name, mode);
      }
    }
    const parts = Array.from({ length: groups }, (_, g) =>
      [...of].filter(([, group]) => group === g).map(([name]) => name),
    ).filter((p) => p.length > 0);
    this.note(`partition ${parts.map((p) => `{${p.join(',')}}`).join(' | ')} ${mode}`);
  }

  // ---- nodes ----

  async #startReplica(node: ReplicaNode): Promise<void> {
    const t = this.#timing;
    const storage = new CrashableStorage(node.disk, {
      latency: () => this.#between(this.#jitter, t.replicaStorageLatencyMs),
      now: () => this.#clock.now(),
    });
    // Every relay, starting at a seeded one per incarnation: all relays get
    // traffic, and a first choice that is down (or not yet joined) means failover.
    const first = prng.int32(this.#layout, 0, this.relays.length - 1);
    const urls = this.relays.map((_, i) => this.relays[(i + first) % this.relays.length]!.url);
    const incarnation = node.incarnation + 1;
    let label = '';
    const replica = new Replica({
      storage: this.#wrap(storage, node),
      relays: urls,
      transportFactory: this.network.factoryFor(node.name),
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      heartbeatTimeoutMs: t.heartbeatTimeoutMs,
      backoff: t.backoff,
      random: () => prng.real53(this.#jitter),
      newClientId: () => {
        const id = this.#newClientId();
        this.#clientOwner.set(id, label);
        return id;
      },
      onError: (error) => {
        if (node.incarnation !== incarnation || !node.up) return;
        this.#replicaError(node, error);
      },
    });
    node.start(storage, replica);
    label = node.label;
    // Until its first full sync a replica may not have read its stored dirty
    // markers yet, so its pendingLocal proves nothing.
    replica.whenSynced().then(
      () => this.#everSynced.add(label),
      () => {},
    );
    this.note(`${label} start`);
    await this.#during(this.#workload.attach(node, this), `${node.label} attach`);
  }

  #replicaError(node: ReplicaNode, error: Error): void {
    if (error instanceof CrashedError) return;
    if (EXPECTED_REPLICA_ERRORS.some((re) => re.test(error.message))) {
      this.#count('replicaWarnings');
      return;
    }
    this.#problems.push(`${node.label} reported: ${error.message}`);
  }

  async #crashReplica(node: ReplicaNode, kind: CrashInfo['kind']): Promise<void> {
    const { device, incarnation, label } = node;
    const dead = node.crash();
    if (dead === null) return;
    this.network.cutNode(node.name, prng.bool(this.#schedule) ? 'silent' : 'visible');
    this.#workload.detach(node, 'crash');
    const disk = node.disk;
    const info: CrashInfo = {
      kind,
      device,
      incarnation,
      disk,
      pendingLocal: (docName) =>
        !this.#everSynced.has(label) || dead.docStatus(docName).pendingLocal,
    };
    this.note(`${label} ${kind === 'crash' ? 'crashes' : 'crashes; device lost'}`);
    if (kind === 'device-lost') {
      node.replaceDevice();
      this.#crashStates = this.#crashStates.filter((s) => s.disk !== disk);
      // Every incarnation that ran on this device lost its disk now.
      const prefix = `${node.name}d${device}#`;
      for (const other of this.#deaths.keys()) {
        if (other.startsWith(prefix)) this.#deaths.set(other, null);
      }
      this.#deaths.set(label, null);
    } else {
      const docs = await snapshotDisk(disk);
      this.#crashStates.push({ node: node.name, disk, label, docs });
      this.#deaths.set(label, docs);
    }
    await this.#workload.crashed(node, info);
  }

  #startRelay(relay: RelayNode): void {
    const t = this.#timing;
    const storage = new CrashableStorage(relay.disk, {
      latency: () => this.#between(this.#jitter, t.relayStorageLatencyMs),
      now: () => this.#clock.now(),
    });
    const incarnation = relay.incarnation + 1;
    const generation = relay.generation;
    const peered = this.#edges.length > 0;
    const core = new RelayCore({
      storage: this.#wrap(storage, relay),
      relayId: relay.relayId,
      commitWindowMs: t.commitWindowMs,
      idleUnloadMs: t.idleUnloadMs,
      compactAfterUpdates: t.compactAfterUpdates,
      // Only with peers, so runs without them stay exactly as they were.
      ...(peered
        ? {
            antiEntropyIntervalMs: this.#antiEntropyIntervalMs,
            random: () => prng.real53(this.#jitter),
            heartbeatIntervalMs: t.relayHeartbeatIntervalMs,
            heartbeatTimeoutMs: t.relayHeartbeatTimeoutMs,
          }
        : {}),
      log: (event, fields) => {
        if (relay.incarnation !== incarnation || relay.generation !== generation || !relay.up) {
          return;
        }
        const faulty =
          RELAY_FAULT_EVENTS.has(event) ||
          (event === 'session.close' && FAULT_CLOSE_CODES.has(fields.code as number));
        if (faulty) this.#problems.push(`${relay.label} logged ${event} ${JSON.stringify(fields)}`);
      },
    });
    relay.start(storage, core);
    const joining = this.#late?.relay === relay && incarnation === 1;
    this.note(`${relay.label} ${joining ? 'joins late with an empty data directory' : 'start'}`);
    if (joining) this.#count('lateJoins');
    for (const { a, b, dials } of this.#edges) {
      if (a === relay && dials !== 'b') core.addPeer(b.url, this.#peerFactory(relay));
      if (b === relay && dials !== 'a') core.addPeer(a.url, this.#peerFactory(relay));
    }
  }

  async #crashRelay(relay: RelayNode): Promise<void> {
    const silent = prng.bool(this.#schedule);
    const label = relay.label;
    relay.crash(silent ? 'blackhole' : 'refuse');
    this.network.cutNode(relay.name, silent ? 'silent' : 'visible');
    this.note(`${label} crashes${silent ? ' (machine gone: silent)' : ''}`);
    // An ack is a promise that the state is on disk: the crash must not break it.
    const docs = await snapshotDisk(relay.disk);
    for (const [docName, acked] of relay.acked) {
      const stored = docs.get(docName)?.stateVector ?? new Map();
      const missing = missingFrom(stored, acked);
      if (missing.length > 0) {
        this.#problems.push(
          `${label} crashed without having stored what it acked for ${docName}: ${missing.join(' ')}`,
        );
      }
    }
    this.#crashStates.push({ node: relay.name, disk: relay.disk, label, docs });
  }

  /** What `relay` dials its peers with (through `peerFrames`, when given). */
  #peerFactory(relay: RelayNode): TransportFactory {
    const factory = this.network.factoryFor(relay.name);
    const rewrite = this.#peerFrames;
    if (rewrite === undefined) return factory;
    return (url) => {
      const transport = factory(url);
      const send = transport.send.bind(transport);
      transport.send = (frame) => send(rewrite(relay, frame));
      return transport;
    };
  }

  /**
   * Sees every frame as it is sent: `Ack`s (to replicas, and to peers on
   * relay↔relay links, either way) are durability promises of the relay that
   * sends them; a `ClusterAck` is a relay's promise that a peer holds a state.
   */
  #observe(link: SimLink, frame: Uint8Array, direction: FrameDirection): void {
    const type = frame[0];
    if (this.#traffic !== null && type !== FrameType.Heartbeat) {
      const [from, to] = direction === 'up' ? [link.from, link.to] : [link.to, link.from];
      const key = `${from}→${to} ${frameTypeName(type)}`;
      this.#traffic.set(key, (this.#traffic.get(key) ?? 0) + 1);
    }
    if (type !== FrameType.Ack && type !== FrameType.Acks && type !== FrameType.ClusterAck) return;
    const sender = this.#relayByName.get(direction === 'down' ? link.to : link.from);
    if (sender === undefined) return;
    const decoded = decodeFrame(frame);
    if (decoded.type === FrameType.Ack || decoded.type === FrameType.Acks) {
      const acks = decoded.type === FrameType.Ack ? [decoded] : decoded.acks;
      for (const { docName, stateVector } of acks) {
        sender.recordAck(docName, stateVector);
        this.#checkAck(sender, docName, stateVector, 'acked');
      }
    } else if (decoded.type === FrameType.ClusterAck) {
      this.#count('clusterAcks');
      const holder = this.relays.find((r) => r.relayId === decoded.relayId);
      if (holder === undefined) {
        this.#problems.push(
          `${sender.label} sent a ClusterAck for unknown relay ${decoded.relayId}`,
        );
        return;
      }
      // A wipe voids what the old data directory held: nothing to hold it to.
      if (holder.generation > 1) return;
      holder.recordClusterAck(decoded.docName, decoded.stateVector);
      this.#checkAck(
        holder,
        decoded.docName,
        decoded.stateVector,
        `was said (by ${sender.label}, ClusterAck) to hold`,
      );
    }
  }

  /** An ack is sent only once what it covers is on the relay's disk (durable acks). */
  #checkAck(relay: RelayNode, docName: string, stateVector: Uint8Array, claim: string): void {
    const acked = Y.decodeStateVector(stateVector);
    if (relay.seenOnDisk(docName, acked)) return;
    const { label, generation } = relay;
    // MemoryStorage reads when called; the promise only delivers the result,
    // so this sees the disk exactly as it was when the ack left.
    relay.disk.load(docName).then(
      ({ updates }) => {
        const stored = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(Y.mergeUpdates(updates)));
        if (relay.generation === generation) relay.sawOnDisk(docName, stored);
        const missing = missingFrom(stored, acked);
        if (missing.length > 0) {
          this.#problems.push(
            `${label} ${claim} ${docName} before its disk held ${missing.join(' ')}`,
          );
        }
      },
      (err) => this.#problems.push(`reading ${label}'s disk: ${stack(err)}`),
    );
  }

  #newClientId(): number {
    for (;;) {
      const id = prng.uint32(this.#ids, 1, 0xfffffffe);
      if (!this.#usedClientIds.has(id)) {
        this.#usedClientIds.add(id);
        return id;
      }
    }
  }

  // ---- settling ----

  async #settle(): Promise<void> {
    this.note('settle: heal all links, restart every node');
    this.network.unblockAll();
    for (const relay of this.relays) if (!relay.up) this.#startRelay(relay);
    for (const node of this.replicas) if (!node.up) await this.#startReplica(node);
    // Nobody edits from here on: what the app still holds back goes out now.
    for (const node of this.replicas) this.#workload.flush(node);
    await this.#runUntilQuiet('settle');
    // Peered relays carry state between each other; independent ones need replicas to.
    if (this.relays.length > 1 && this.#edges.length === 0) {
      await this.#tour();
      await this.#runUntilQuiet('settle after tour');
    }
  }

  /**
   * No relay↔relay gossip yet: replicas carry state between relays. Each
   * replica syncs with each relay in turn (so the last one ends up holding
   * everything), then it brings that to every relay, and every other replica
   * picks it up.
   */
  async #tour(): Promise<void> {
    const last = this.replicas.at(-1)!;
    for (const relay of this.relays) {
      for (const node of this.replicas) await this.#syncWith(node, relay);
    }
    for (const relay of this.relays) await this.#syncWith(last, relay);
    for (const node of this.replicas.slice(0, -1)) await this.#syncWith(node, this.relays[0]!);
    this.network.unblockAll();
  }

  async #syncWith(node: ReplicaNode, relay: RelayNode): Promise<void> {
    for (const other of this.relays) {
      if (other === relay) this.network.unblock(node.name, other.name);
      else this.network.block(node.name, other.name, 'visible');
    }
    const replica = node.replica!;
    let since: number | null = null;
    const start = this.#clock.now();
    for (;;) {
      await this.#clock.advance(50);
      const ok =
        replica.status.state === 'synced' &&
        this.network.inFlight === 0 &&
        this.network.openLinks().some((l) => l.from === node.name && l.to === relay.name);
      since = ok ? (since ?? this.#clock.now()) : null;
      if (since !== null && this.#clock.now() - since >= 300) return;
      if (this.#clock.now() - start > this.#timing.settleLimitMs) {
        throw new SimAbort(`${node.label} never synced with ${relay.label}: ${this.#busy()}`);
      }
    }
  }

  async #runUntilQuiet(label: string): Promise<void> {
    const start = this.#clock.now();
    let since: number | null = null;
    let report = start + 10_000;
    this.#traffic = new Map();
    for (;;) {
      await this.#clock.advance(100);
      // A slow settle leaves a trail in the trace: what was still busy, every 10 s.
      if (this.#clock.now() >= report) {
        report += 10_000;
        this.note(`${label}: still busy: ${this.#busy()}; sync frames sent: ${this.#topTraffic()}`);
        this.#traffic = new Map();
      }
      const quiet =
        this.network.inFlight === 0 &&
        this.replicas.every((n) => n.replica?.status.state === 'synced') &&
        this.#peerLinksDown().length === 0 &&
        this.#digestsDiffer() === null;
      since = quiet ? (since ?? this.#clock.now()) : null;
      if (since !== null && this.#clock.now() - since >= this.#timing.quietMs) {
        this.#traffic = null;
        return;
      }
      if (this.#clock.now() - start > this.#timing.settleLimitMs) {
        const busy = this.#busy();
        throw new SimAbort(
          `${label}: not quiescent after ${this.#timing.settleLimitMs} ms: ${busy}; ` +
            `sync frames sent in the next 3 s: ${await this.#sample(3000)}`,
        );
      }
    }
  }

  /**
   * Peerings of the topology (both relays up) without a live link: none open
   * on the network (a half-open one does not count), or one side does not
   * list the other as a connected peer.
   */
  #peerLinksDown(): string[] {
    if (this.#edges.length === 0) return [];
    const open = this.network.openLinks();
    const connected = (from: RelayNode, to: RelayNode) =>
      from.core
        ?.clusterInfo()
        .peers.some((p) => p.relayId === to.relayId && p.state === 'connected') ?? false;
    const down: string[] = [];
    for (const { a, b } of this.#edges) {
      if (!a.up || !b.up) continue;
      const linked = open.some(
        (l) => (l.from === a.name && l.to === b.name) || (l.from === b.name && l.to === a.name),
      );
      if (!linked || !connected(a, b) || !connected(b, a)) down.push(`${a.name}↔${b.name}`);
    }
    return down;
  }

  /** What keeps the network busy: sync frames sent during the next `ms`, most frequent first. */
  async #sample(ms: number): Promise<string> {
    this.#traffic = new Map();
    await this.#clock.advance(ms);
    const top = this.#topTraffic();
    this.#traffic = null;
    return top;
  }

  #topTraffic(): string {
    const top = [...(this.#traffic ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 8);
    return top.length === 0 ? 'none' : top.map(([key, n]) => `${key} ×${n}`).join(', ');
  }

  /**
   * With peers: `null` when every relay's anti-entropy digest (over the
   * fingerprints of every doc it durably holds) is the same, else which
   * relays differ from the first and in how many buckets.
   */
  #digestsDiffer(): string | null {
    if (this.#edges.length === 0) return null;
    const digests = this.relays.map((r) => ({ name: r.name, digest: r.core?.digest() }));
    const first = digests[0]!;
    const differ: string[] = [];
    for (const { name, digest } of digests.slice(1)) {
      if (first.digest === undefined || digest === undefined) return 'a relay is down';
      let buckets = 0;
      for (let i = 0; i < digest.length; i += FINGERPRINT_BYTES) {
        for (let j = i; j < i + FINGERPRINT_BYTES; j++) {
          if (digest[j] !== first.digest[j]) {
            buckets++;
            break;
          }
        }
      }
      if (buckets > 0) differ.push(`${name}≠${first.name} in ${buckets} buckets`);
    }
    return differ.length > 0 ? differ.join(', ') : null;
  }

  #busy(): string {
    const states = this.replicas.map((n) => {
      const s = n.replica?.status;
      return `${n.label}=${s ? `${s.state}${s.pendingLocal ? '+pending' : ''}` : 'down'}`;
    });
    const down = this.#peerLinksDown();
    const peers = down.length > 0 ? `, peer links down: ${down.join(' ')}` : '';
    const digests = this.#digestsDiffer();
    const differ = digests !== null ? `, digests differ: ${digests}` : '';
    return `${states.join(' ')}, ${this.network.inFlight} sync frames in flight${peers}${differ}`;
  }

  /** Awaits `promise` while virtual time runs (it may need timers to settle). */
  async #during<T>(promise: Promise<T>, what: string, limitMs = 60_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const start = this.#clock.now();
    await Promise.resolve();
    while (!settled) {
      if (this.#clock.now() - start > limitMs) {
        throw new SimAbort(`${what}: not done after ${limitMs} ms of virtual time`);
      }
      await this.#clock.advance(5);
    }
    return promise;
  }

  // ---- checks ----

  async #check(): Promise<void> {
    this.#problems.push(...(await this.#during(this.#workload.checkLive(this), 'live checks')));
    for (const node of this.replicas) {
      this.#workload.detach(node, 'shutdown');
      await this.#during(node.shutdown(), `${node.label} shutdown`);
    }
    for (const relay of this.relays)
      await this.#during(relay.shutdown(), `${relay.label} shutdown`);
    this.note('all nodes shut down cleanly; comparing disks');

    const disks = [
      ...this.replicas.map((n) => ({ label: n.label, disk: n.disk })),
      ...this.relays.map((r) => ({ label: r.label, disk: r.disk })),
    ];
    const reference = disks[0]!;
    const final = (docName: string) => readStoredDoc(reference.disk, docName);
    const docNames = await this.#workload.docNames(final);
    this.#count('docs', docNames.length);
    for (const docName of docNames) {
      const states = await Promise.all(disks.map((d) => readStoredDoc(d.disk, docName)));
      const first = states[0]!;
      states.forEach((state, i) => {
        const { label } = disks[i]!;
        if (state.pending) this.#checkPending(label, docName, state);
        if (!sameState(state, first)) {
          this.#problems.push(
            `${label} differs from ${reference.label} in ${docName}: ` +
              `${formatVector(state.stateVector)} vs ${formatVector(first.stateVector)}`,
          );
        }
      });
      for (const relay of this.relays) {
        const acked = relay.acked.get(docName);
        if (acked === undefined) continue;
        const missing = missingFrom(first.stateVector, acked);
        if (missing.length > 0) {
          this.#problems.push(`${docName} lost what ${relay.label} acked: ${missing.join(' ')}`);
        }
      }
      for (const crash of this.#crashStates) {
        const before = crash.docs.get(docName);
        if (before === undefined) continue;
        const lost = [
          ...missingFrom(first.stateVector, before.stateVector),
          ...missingDeletions(first.deleteSet, before.deleteSet),
        ];
        if (lost.length > 0) {
          this.#problems.push(
            `${docName} lost what ${crash.label} had on disk at its crash: ${lost.join(' ')}`,
          );
        }
      }
      for (const state of states) state.doc.destroy();
    }
    if (this.#edges.length > 0) await this.#checkRelayOnlyDocs(new Set(docNames));
    this.#problems.push(...(await this.#workload.check(this, final)));
  }

  /**
   * Peered relays exchange every doc they hold, also docs no replica has open
   * (anti-entropy covers docs a relay never loaded): whatever a relay stores
   * beyond the workload's docs must be identical on every relay too.
   */
  async #checkRelayOnlyDocs(checked: Set<string>): Promise<void> {
    const names = new Set<string>();
    for (const relay of this.relays) {
      for (const name of await relay.disk.list('')) if (!checked.has(name)) names.add(name);
    }
    this.#count('relayOnlyDocs', names.size);
    const reference = this.relays[0]!;
    for (const docName of names) {
      const states = await Promise.all(this.relays.map((r) => readStoredDoc(r.disk, docName)));
      const first = states[0]!;
      states.forEach((state, i) => {
        if (!sameState(state, first)) {
          this.#problems.push(
            `${this.relays[i]!.label} differs from ${reference.label} in ${docName} (no replica holds it): ` +
              `${formatVector(state.stateVector)} vs ${formatVector(first.stateVector)}`,
          );
        }
      });
      for (const state of states) state.doc.destroy();
    }
  }

  /**
   * Pending structs are a failure unless what they wait for can never come:
   * structs of a replica incarnation that died before storing them (or whose
   * device was lost) and that no relay acknowledged. Such a gap appears when
   * reordering lets a later update of that incarnation overtake an earlier one
   * that the crash then lost; the stranded structs can never be integrated.
   */
  #checkPending(label: string, docName: string, state: DocState): void {
    const unexplained = [...state.missing].filter(([client, clock]) => {
      const owner = this.#clientOwner.get(client);
      if (owner === undefined || !this.#deaths.has(owner)) return true;
      const disk = this.#deaths.get(owner);
      const stored = disk?.get(docName)?.stateVector.get(client) ?? 0;
      const acked = this.ackedVector(docName).get(client) ?? 0;
      // On its disk or acked: it must have come back, so the gap is a bug.
      return stored > clock || acked > clock;
    });
    if (unexplained.length === 0) {
      this.#count('strandedDocs');
      return;
    }
    const waits = unexplained.map(([client, clock]) => `${client}@${clock}`).join(' ');
    this.#problems.push(`${label} holds pending structs in ${docName}, waiting for ${waits}`);
  }

  /** After a run (also an aborted one): kill whatever still runs. Timers are the caller's to clear. */
  #teardown(): void {
    for (const node of this.replicas) {
      if (node.crash() !== null) this.#workload.detach(node, 'crash');
    }
    for (const relay of this.relays) relay.crash('refuse');
  }

  // ---- reporting ----

  #count(key: string, by = 1): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + by);
  }

  #summary(): string {
    const c = (key: string) => this.#counts.get(key) ?? 0;
    const n = this.network.stats;
    return [
      `seed=${this.seed}`,
      `replicas=${this.replicas.length} relays=${this.relays.length} topology=${this.#topology}` +
        (this.#edges.length > 0
          ? ` ae=${this.#antiEntropyIntervalMs}ms late=${this.#late?.relay.name ?? '-'}`
          : ''),
      `steps=${c('steps')} virtual=${(c('virtualMs') / 1000).toFixed(1)}s`,
      `acts=${c('act')}`,
      `partitions=${c('partition')} heals=${c('heal')}`,
      `crashes: replica=${c('crashReplica')} device-lost=${c('loseDevice')} relay=${c('crashRelay')} wiped=${c('wipeRelay')}`,
      ...(this.#edges.length > 0
        ? [
            `peer cuts=${c('cutPeerLink')} late joins=${c('lateJoins')} cluster acks=${c('clusterAcks')} relay-only docs=${c('relayOnlyDocs')}`,
          ]
        : []),
      `frames=${n.frames} dropped=${n.dropped} duplicated=${n.duplicated} reordered=${n.reordered} links=${n.links}`,
      `acks=${this.relays.reduce((sum, r) => sum + r.ackCount, 0)}`,
      `docs=${c('docs')} stranded=${c('strandedDocs')}`,
      this.#workload.summary(),
    ].join(' | ');
  }

  #between(random: prng.PRNG, [min, max]: readonly [number, number]): number {
    return min + prng.real53(random) * (max - min);
  }
}

/**
 * Accepts a connection on `core`, passing what the relay sends through
 * `rewrite` once the first frame shows a peer relay (`Hello` with role `peer`).
 */
function acceptRewritingPeers(
  conn: RelayConnection,
  core: RelayCore,
  rewrite: (frame: Uint8Array) => Uint8Array,
): ConnectionHandler {
  let peer: boolean | null = null;
  const handler = core.acceptMultiplexed({
    send: (frame) => conn.send(peer === true ? rewrite(frame) : frame),
    close: (code, reason) => conn.close(code, reason),
    get bufferedAmount() {
      return conn.bufferedAmount;
    },
  });
  return {
    receive: (frame) => {
      if (peer === null) {
        let decoded: ReturnType<typeof decodeFrame> | null = null;
        try {
          decoded = decodeFrame(frame);
        } catch {
          // Malformed: the core closes it; nothing to rewrite.
        }
        peer = decoded?.type === FrameType.Hello && decoded.hello.role === 'peer';
      }
      handler.receive(frame);
    },
    closed: () => handler.closed(),
  };
}

/** `Docs`, `Ack`, … for diagnostics (the number when unknown). */
function frameTypeName(type: number | undefined): string {
  const name = Object.entries(FrameType).find(([, value]) => value === type)?.[0];
  return name ?? `type ${String(type)}`;
}

/** A per-purpose seed derived from the run's seed. */
function stream(seed: number, n: number): number {
  return Math.imul(seed ^ Math.imul(n, 0x9e3779b9), 0x85ebca6b) >>> 0 || 1;
}

function weighted<T>(random: prng.PRNG, options: readonly [T, number][]): T | null {
  const total = options.reduce((sum, [, w]) => sum + w, 0);
  if (total <= 0) return null;
  let pick = prng.real53(random) * total;
  for (const [value, w] of options) {
    if (pick < w) return value;
    pick -= w;
  }
  return null;
}

/** Every doc on `disk`, as state vectors and delete sets. */
async function snapshotDisk(disk: StorageAdapter): Promise<Map<string, DocState>> {
  const docs = new Map<string, DocState>();
  for (const name of await disk.list('')) {
    const state = await readStoredDoc(disk, name);
    state.doc.destroy();
    docs.set(name, state);
  }
  return docs;
}

function stack(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
