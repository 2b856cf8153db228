// Types of picture.js (plain JavaScript so that the browser runs it as shipped).
import type { EventDoc, StatusDoc } from '../src/api/types.js';

export const EVENTS_SHOWN: number;

export type ChipKind = 'held' | 'arriving' | 'leaving' | 'wanted';

export interface Chip {
  system: string;
  item: string;
  kind: ChipKind;
  wanted_on: string | null;
  failing: boolean;
  error: string | null;
}

export interface ServerBox {
  id: string;
  self: boolean;
  state: StatusDoc['members'][number]['state'];
  label: string;
  address: string;
  rtt_ms: number | null;
  last_heard_ago_ms: number | null;
  reports_against: string[];
  readiness: { system: string; state: string }[];
  chips: Chip[];
}

export interface Picture {
  self: string;
  at: string;
  healthy: boolean;
  problems: string[];
  quorum: StatusDoc['quorum'];
  planning: boolean;
  systems: {
    name: string;
    type: string;
    no_quorum_policy: string;
    may_hold: boolean;
    check: string | null;
  }[];
  servers: ServerBox[];
  unplaced: { system: string; item: string }[];
}

export function picture(status: StatusDoc): Picture;
export function compareItems(a: string, b: string): number;
export function keepEvents(kept: EventDoc[], incoming: EventDoc[]): EventDoc[];
export function describeEvent(event: EventDoc): { text: string; bad: boolean };
export function duration(ms: number | null | undefined): string;
export function tokenFromFragment(hash: string): string | undefined;
