/**
 * What the agent hands to the API: plain data copied from its parts at one moment, from which
 * the status document (status.ts) and the metrics (metrics/agent-metrics.ts) are assembled by
 * pure functions. Times are ms on the agent's monotonic clock unless named wall.
 */
import type { SystemType } from '../config/defaults.js';
import type { RunnerCounters, SystemStatus } from '../executor/types.js';
import type { MemberStateName } from '../membership/messages.js';
import type { NodeCounters } from '../membership/node.js';
import type { ReadinessState } from '../membership/readiness.js';
import type { ItemRecord } from '../observe/agent-stats.js';
import type { DropCounters } from '../wire/drop-reasons.js';

export interface MemberSnapshot {
  id: string;
  index: number;
  address: string;
  state: MemberStateName;
  incarnation: number;
  /** When its state last changed in our view. */
  since: number;
  /** When we last heard from it (-Infinity: never). */
  last_heard: number;
  reporters: string[];
  rtt_ms: number | undefined;
  /** Its readiness per system it is a member of. */
  readiness: Record<string, ReadinessState>;
}

export interface SystemSnapshot {
  name: string;
  type: SystemType;
  members: string[];
  data: string[];
  no_quorum_policy: 'keep' | 'release';
  leased: boolean;
  fence_ms: number;
  member_here: boolean;
  /** Placement in this view: each member's items, and those no live member can take. */
  wanted: Record<string, string[]>;
  unplaced: string[];
  /**
   * What this server's controller wants it to hold (its placement, and any rule above placement
   * that keeps items where they are); the disagreement mark compares what is held with it.
   */
  desired_here: string[];
  /** The runner's status of the system (undefined: not a member here). */
  runner: SystemStatus | undefined;
  /** Our announced readiness for it. */
  readiness: ReadinessState;
  /** Our check's verdict (undefined: no check, or not a member). */
  check: 'passing' | 'failing' | 'unknown' | undefined;
  /** The last run and error of each item here, by item. */
  items: ReadonlyMap<string, Readonly<ItemRecord>>;
}

export interface AgentSnapshot {
  now: number;
  wall_now: number;
  id: string;
  address: string;
  incarnation: number;
  started_at: number;
  started_at_wall: number;
  planning: boolean;
  standing_down: boolean;
  leaving: boolean;
  quorum_size: number;
  quorum_reachable: boolean;
  members: MemberSnapshot[];
  systems: SystemSnapshot[];
  counters: {
    packets_sent: number;
    packets_received: number;
    drops: Readonly<DropCounters>;
    node: Readonly<NodeCounters>;
    runner: Readonly<RunnerCounters>;
    releases_sent: number;
    claims_sent: number;
  };
}
