import type { KeyValueStorage } from './workspaces.ts';

/** The localStorage key of this person's display name and colour. */
export const IDENTITY_KEY = 'lattice:identity';

/** How this person appears to collaborators (cursor label and colour). */
export interface Identity {
  name: string;
  /** `#rrggbb`. */
  color: string;
}

/** The awareness `user` field y-codemirror.next reads for remote cursors. */
export interface AwarenessUser {
  name: string;
  color: string;
  /** Translucent variant for selection backgrounds. */
  colorLight: string;
}

/** Longest display name kept; longer input is cut, not rejected. */
export const MAX_NAME_LENGTH = 40;

// Distinct, readable on both light and dark backgrounds.
const PALETTE = [
  '#e5484d',
  '#f76b15',
  '#ffb224',
  '#30a46c',
  '#12a594',
  '#0090ff',
  '#3e63dd',
  '#8e4ec6',
  '#d6409f',
  '#978365',
];
const ANIMALS = [
  'Otter',
  'Heron',
  'Fox',
  'Lynx',
  'Wren',
  'Badger',
  'Ibex',
  'Marten',
  'Puffin',
  'Hare',
];
const HEX = /^#[0-9a-f]{6}$/i;

/** True for a `#rrggbb` colour. */
export function isHexColor(value: string): boolean {
  return HEX.test(value);
}

/** A fresh identity for a first visit ("Curious Otter" style names, a palette colour). */
export function randomIdentity(random: () => number = Math.random): Identity {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return { name: `Anonymous ${pick(ANIMALS)}`, color: pick(PALETTE) };
}

/** Reads the stored identity; creates and stores one when missing or unreadable. */
export function loadIdentity(
  storage: KeyValueStorage,
  random: () => number = Math.random,
): Identity {
  const stored = parseIdentity(storage.getItem(IDENTITY_KEY));
  if (stored) return stored;
  const fresh = randomIdentity(random);
  storage.setItem(IDENTITY_KEY, JSON.stringify(fresh));
  return fresh;
}

/**
 * Validates and stores an identity (name cut to `MAX_NAME_LENGTH`); returns
 * what was stored. A blank name is stored as typed so the input does not jump
 * while someone edits it; peers see "Anonymous" (`awarenessUser`).
 */
export function saveIdentity(storage: KeyValueStorage, identity: Identity): Identity {
  if (!isHexColor(identity.color)) {
    throw new Error(`A colour must look like #rrggbb, got "${identity.color}"`);
  }
  const clean = {
    name: identity.name.slice(0, MAX_NAME_LENGTH),
    color: identity.color.toLowerCase(),
  };
  storage.setItem(IDENTITY_KEY, JSON.stringify(clean));
  return clean;
}

/** The awareness `user` state for an identity; a blank name shows as "Anonymous". */
export function awarenessUser(identity: Identity): AwarenessUser {
  const name = identity.name.trim() || 'Anonymous';
  return { name, color: identity.color, colorLight: `${identity.color}33` };
}

function parseIdentity(raw: string | null): Identity | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { name, color } = value as Record<string, unknown>;
    if (typeof name !== 'string' || typeof color !== 'string' || !isHexColor(color)) return null;
    return { name: name.slice(0, MAX_NAME_LENGTH), color };
  } catch {
    return null;
  }
}
