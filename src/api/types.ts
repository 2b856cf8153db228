/**
 * The JSON documents of flip's HTTP API (/v1/health, /v1/status, /v1/events), as the status page
 * and `flip status` read them. A contract: add fields, never rename or remove one within /v1.
 * Durations are ms; `*_ago_ms` is how long before the document was made (null: never);
 * wall-clock instants are ISO 8601 strings.
 */
import type { ChangeKind, ConfigChange } from '../changes/index.js';
import type { ConfigIssue } from '../config/errors.js';
import type { ScriptEvent } from '../executor/types.js';
import type { MemberChangeReason } from '../membership/member-view.js';
import type { MemberStateName } from '../membership/messages.js';
import type { ReadinessState } from '../membership/readiness.js';
import type { ChangeAnswer } from '../replica/answer.js';

export const API_VERSION = 1;

/** GET /v1/health: 200 with ok true, 503 with ok false. */
export interface HealthDoc {
  ok: boolean;
  id: string;
  /** Why not ok, in a few words; absent when ok. */
  reason?: string;
  quorum_reachable: boolean;
  members_live: number;
  quorum: number;
}

/** A 4xx/5xx answer's body. */
export interface ErrorDoc {
  error: {
    status: number;
    code: ApiErrorCode;
    message: string;
    /** bad_change and invalid_change: every problem, each naming the change's field (or the config's key). */
    issues?: ConfigIssue[];
  };
}

export type ApiErrorCode =
  | 'not_found'
  | 'method_not_allowed'
  | 'bad_query'
  | 'unauthorized'
  | 'too_large'
  | 'too_many_streams'
  | 'internal'
  /** 403: a change route on an agent with no api.token (changes through the API are off). */
  | 'forbidden'
  /** 415: a change body that is not sent as application/json. */
  | 'unsupported_media_type'
  /** 400: a change body that is not JSON. */
  | 'bad_json'
  /** 400: a change body that is JSON, but not a change (parseChange's issues). */
  | 'bad_change'
  /** 501: this agent takes no runtime changes (no replica wired to its API). */
  | 'not_implemented'
  /** The refusals of a change (replica/answer.ts), one code per ChangeAnswer kind that is not a success. */
  | 'invalid_change'
  | 'conflict'
  | 'no_quorum'
  | 'unknown_server'
  | 'timeout';

/** One member in this server's view. */
export interface MemberDoc {
  id: string;
  /** Position in placement order (0 first). */
  index: number;
  /** The UDP endpoint it gossips on. */
  address: string;
  self: boolean;
  state: MemberStateName;
  incarnation: number;
  /** How long it has been in this state in our view. */
  state_for_ms: number;
  /** When we last received an authenticated packet from it (ourselves: null). */
  last_heard_ago_ms: number | null;
  /** Members whose reports against it are counted now (a quorum of them makes it down). */
  reports_against: string[];
  /** Round trip of our last answered direct probe of it (null: none yet, or ourselves). */
  rtt_ms: number | null;
  /** Its readiness per system it is a member of, as it announced it (health checks, hold-down). */
  readiness: Record<string, ReadinessState>;
}

/** What happens to a system's items here without a quorum, and what fences them. */
export interface PolicyDoc {
  no_quorum_policy: 'keep' | 'release';
  /** Whether a lease program renews the held items (they lapse when nobody renews them). */
  leased: boolean;
  /** How long after its last renewal a held item lapses (ms), with a lease program. */
  fence_ms: number;
  /** This server may hold and take items now (it has a quorum's fresh grants). */
  may_hold: boolean;
}

export type ItemScriptState = 'idle' | 'running' | 'failing';

/** One item of a system, as this server sees it. */
export interface ItemDoc {
  item: string;
  /** The server placement gives it to in this view (null: no live member). */
  wanted_on: string | null;
  /** Whether this server holds it (its last successful script was alive). */
  held_here: boolean;
  /** This server holds it while its controller wants it elsewhere, or wants it here and it is not held. */
  disagrees: boolean;
  script: ItemScriptState;
  /** The script running now, or that keeps failing. */
  script_event: ScriptEvent | null;
  /** The last script run for it here, if any. */
  last_run: {
    event: 'alive' | 'down';
    ok: boolean;
    ago_ms: number;
    duration_ms: number;
  } | null;
  /** The last failure's description (exit code, signal, timeout and the end of stderr). */
  last_error: string | null;
  /** Failures in a row of the script its target calls for. */
  failures: number;
}

/** One system: placement, holdings and scripts. */
export interface SystemDoc {
  name: string;
  type: 'shard' | 'hash' | 'replicated' | 'single';
  members: string[];
  /** Whether this server is a member. */
  member_here: boolean;
  policy: PolicyDoc;
  /** Per member: the items placement gives it in this view (peers report no holdings: this is the view). */
  wanted: Record<string, string[]>;
  /** The items this server holds. */
  held_here: string[];
  /** Items no live member can take. */
  unplaced: string[];
  /** The runner's plan: its number and phase. */
  plan: number;
  phase: 'idle' | 'down' | 'alive';
  items: ItemDoc[];
  /** This server's health check of the system (absent without a check, or not a member). */
  check: { verdict: 'passing' | 'failing' | 'unknown' } | null;
  /** This server's announced readiness for the system. */
  readiness: ReadinessState;
}

/** GET /v1/status. */
export interface StatusDoc {
  version: typeof API_VERSION;
  /** When this document was made. */
  at: string;
  server: {
    id: string;
    address: string;
    incarnation: number;
    started_at: string;
    uptime_ms: number;
    /** The view is known (learned from a peer, or the start-up grace is over): planning runs. */
    planning: boolean;
    /** Another live agent with this id started first: this one holds and takes nothing. */
    standing_down: boolean;
    /** The agent is shutting down. */
    leaving: boolean;
  };
  quorum: {
    size: number;
    live: number;
    /** This server has a quorum's fresh grants (it may hold and take items). */
    reachable: boolean;
  };
  members: MemberDoc[];
  systems: SystemDoc[];
  /** Whether the cluster looks healthy from here, and why not (see healthProblems). */
  healthy: boolean;
  problems: string[];
}

/** The kinds of event in the ring. */
export type EventBody =
  | {
      type: 'member';
      member: string;
      from: MemberStateName;
      to: MemberStateName;
      incarnation: number;
      reason: MemberChangeReason;
    }
  | { type: 'plan'; system: string; plan: number; desired: string[]; leaving: string[]; arriving: string[] }
  | {
      type: 'script';
      system: string;
      item: string;
      event: 'alive' | 'down';
      ok: boolean;
      duration_ms: number;
      exit_code: number | null;
      signal: string | null;
      timed_out: boolean;
    }
  | { type: 'item_failed'; system: string; item: string; event: 'alive' | 'down'; attempts: number }
  | { type: 'item_recovered'; system: string; item: string; event: 'alive' | 'down' }
  | { type: 'quorum'; state: 'lost' | 'regained'; releasing: string[] }
  | { type: 'release_sent'; to: string; items: string[] }
  | { type: 'release_received'; from: string; items: string[] }
  | { type: 'claim_cleared'; system: string; items: string[] }
  | { type: 'check'; system: string; verdict: 'passing' | 'failing' }
  | { type: 'readiness'; failing: string[]; holding: string[]; fresh: string[] }
  | { type: 'lease_failed'; system: string; items: number; status: string }
  | { type: 'agent'; state: 'started' | 'planning' | 'leaving' | 'refuted' | 'reloaded' };

export type EventType = EventBody['type'];

/** One event: an id that grows by one per event in this agent's run, and when it happened. */
export type EventDoc = { id: number; at: string } & EventBody;

/** GET /v1/events. */
export interface EventsDoc {
  /** The events with id > since, oldest first. */
  events: EventDoc[];
  /** The id of the newest event (0: none yet): pass as `since` next time. */
  last_id: number;
  /** Some events after `since` were dropped from the ring (it keeps the newest). */
  truncated: boolean;
}

/** POST /v1/changes, 200: a majority stored the change. */
export interface ChangeResultDoc {
  /** committed: `version` is the first config that holds it; no_op: the config already was so, and `version` holds it. */
  outcome: 'committed' | 'no_op';
  version: number;
  kind: ChangeKind;
  /** The change as a command line (describeChange), for people and logs. */
  change: string;
  /** no_op: why nothing was made. */
  reason?: string;
}

/** GET /v1/config: the committed config. */
export interface ConfigDoc {
  /** 0: the config this agent started from (its file), nothing committed yet. */
  version: number;
  /** In the config file's JSON shape, with each secret replaced by REDACTED. */
  config: { [key: string]: unknown };
  /** The paths of the secrets replaced (`key`, `servers.flip.api.token`). */
  redacted: string[];
}

/** GET /v1/config/history. */
export interface ConfigHistoryDoc {
  /** The latest version this server applied. */
  version: number;
  /** Changes after this version are held; older ones (an earlier life of the agent, a snapshot) are not. */
  from: number;
  /** The newest changes, oldest first, at most `limit`. */
  changes: { version: number; kind: ChangeKind; change: string; detail: ConfigChange }[];
}

/**
 * What a reload did (POST /v1/reload, SIGHUP): the agent read its config file again. `proposed`:
 * the file's item edits since it was last read went to the cluster as changes, each with its
 * answer (they apply once committed); `restart_needed`: the file changes more than items, and
 * nothing was done; `invalid`: the file is not a valid config. The running config stays unless a
 * proposed change commits.
 */
export type ReloadOutcome =
  | { kind: 'unchanged' }
  | { kind: 'proposed'; answers: { change: string; answer: ChangeAnswer }[] }
  | { kind: 'restart_needed'; fields: string[] }
  | { kind: 'invalid'; message: string };
