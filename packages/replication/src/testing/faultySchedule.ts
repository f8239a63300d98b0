import type { DeliverySchedule, FrameDirection } from '../transport/MemoryTransport.ts';

/** Faults a `faultySchedule` injects, per frame, as the fault model allows them (docs/ARCHITECTURE.md). */
export interface FaultyScheduleOptions {
  /** Seeded source of randomness (e.g. `() => prng.real53(gen)` from lib0). */
  random: () => number;
  /** Each copy of a frame waits a uniform 0…`maxDelayMs` ms, so frames overtake each other (default 3). */
  maxDelayMs?: number;
  /** Probability that a frame arrives twice (default 0). */
  duplicate?: number;
  /** Probability that a frame is lost and the connection visibly drops with it (default 0). */
  sever?: number;
  /** Probability that a frame is lost and the connection goes silently half-open (default 0). */
  silence?: number;
  /** Directions to disturb (default both). */
  directions?: readonly FrameDirection[];
}

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability, got ${value}`);
  return p;
}

/**
 * A seeded `DeliverySchedule` for `MemoryTransport`/`MemoryNetwork` that
 * delays, reorders and duplicates frames within a connection, and ends the
 * connection (visibly or silently) when it loses one.
 */
export function faultySchedule(options: FaultyScheduleOptions): DeliverySchedule {
  const { random } = options;
  const maxDelayMs = options.maxDelayMs ?? 3;
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) {
    throw new RangeError(`maxDelayMs must be a non-negative number, got ${options.maxDelayMs}`);
  }
  const duplicate = probability('duplicate', options.duplicate);
  const sever = probability('sever', options.sever);
  const silence = probability('silence', options.silence);
  const directions = new Set(options.directions ?? ['up', 'down']);
  const later = (deliver: () => void) => {
    setTimeout(deliver, Math.floor(random() * (maxDelayMs + 1)));
  };
  return (deliver, _frame, direction, link) => {
    if (!directions.has(direction)) {
      setTimeout(deliver, 0);
      return;
    }
    const roll = random();
    if (roll < sever) {
      link.sever('fault injection: frame lost');
      return;
    }
    if (roll < sever + silence) {
      link.silence();
      return;
    }
    later(deliver);
    if (random() < duplicate) later(deliver);
  };
}
