/**
 * What the replicas promise their clients, checked from outside them (for the test harness,
 * testing.ts, the soak, and later the simulator). The consensus's own invariants (one leader per
 * term, Log Matching, Leader Completeness, the same config for each version on every server,
 * versions in order and never back) are consensus/checkers.ts's, run beside these. Each check
 * throws a SafetyViolation naming what broke, where and when; the harness adds the seed.
 *
 * - Every request is answered at most once, within its bound; every request whose server stayed
 *   up is answered (`unanswered`).
 * - An answer `committed {version}` names the version whose change, on every server, is the
 *   change asked for; and the change is in every later config, unless another request touched
 *   the same part of the config (then a later change may legitimately undo it).
 * - An answer that says nothing changed (invalid, conflict, no_quorum, unknown_server) is true:
 *   no version is ever made by that change (checked for changes asked only once).
 * - A request made on the minority side of a partition, that stayed unchanged until the answer,
 *   is never answered `committed` or `no_op`.
 * - `applied` effects: versions in order, one after another unless a snapshot skips, never twice,
 *   never back, a restart included.
 */
import { type ConfigChange, conflicts } from '../changes/index.js';
import { SafetyViolation } from '../consensus/checkers.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import { sameJson } from '../state/json-equal.js';
import { type ChangeAnswer, nothingChanged } from './answer.js';

export interface RequestRecord {
  server: string;
  request: number;
  /** The change asked for, when it was well formed. */
  change: ConfigChange | undefined;
  at: number;
  /** The life (boot) of the server that took it: a crash ends its requests unanswered. */
  life: number;
  /** Whether it was asked on the minority side of a partition, and which partition (an epoch). */
  minority: boolean;
  partition_epoch: number;
  answer?: ChangeAnswer;
  answered_at?: number;
}

export class ReplicaChecker {
  /** Requests by "server/request". */
  readonly requests = new Map<string, RequestRecord>();
  /** The change that made each version, as JSON (known once a server applied it from an entry). */
  readonly changes = new Map<number, string>();
  /** The config of each version, as JSON. */
  readonly configs = new Map<number, string>();
  /** The last version each server reported applied, across its restarts. */
  readonly applied_version = new Map<string, number>();
  /** Answers of each kind, for figures. */
  readonly answers = new Map<ChangeAnswer['kind'], number>();

  constructor(readonly request_bound_ms: number) {}

  #fail(now: number, what: string): never {
    throw new SafetyViolation(`at ${now} ms: ${what}`);
  }

  onRequest(record: RequestRecord): void {
    this.requests.set(`${record.server}/${record.request}`, record);
  }

  onApplied(
    now: number,
    server: string,
    applied: { version: number; config: ConfigDocument; change: ConfigChange | null },
  ): void {
    const before = this.applied_version.get(server) ?? 0;
    if (applied.version <= before)
      this.#fail(now, `${server} reported version ${applied.version} applied after ${before}`);
    if (applied.change !== null && applied.version !== before + 1)
      this.#fail(now, `${server} applied version ${applied.version} from a change right after ${before}`);
    this.applied_version.set(server, applied.version);
    const config = JSON.stringify(applied.config);
    const seen = this.configs.get(applied.version);
    if (seen === undefined) this.configs.set(applied.version, config);
    else if (seen !== config)
      this.#fail(now, `${server} applied another config as version ${applied.version}`);
    if (applied.change === null) return;
    const change = JSON.stringify(applied.change);
    const made = this.changes.get(applied.version);
    if (made === undefined) this.changes.set(applied.version, change);
    else if (made !== change)
      this.#fail(now, `${server} applied version ${applied.version} from another change`);
  }

  /** A server (re)started at `version`: never behind what it reported before its crash. */
  onStart(now: number, server: string, version: number): void {
    const before = this.applied_version.get(server) ?? 0;
    if (version < before)
      this.#fail(now, `${server} restarted at version ${version}, but had reported ${before} applied`);
    this.applied_version.set(server, version);
  }

  onAnswer(
    now: number,
    server: string,
    request: number,
    answer: ChangeAnswer,
    partition_epoch: number,
  ): void {
    const key = `${server}/${request}`;
    const record = this.requests.get(key);
    if (record === undefined) this.#fail(now, `${server} answered request ${request}, which it never took`);
    if (record.answer !== undefined)
      this.#fail(
        now,
        `${server} answered request ${request} twice: ${record.answer.kind}, then ${answer.kind}`,
      );
    if (now > record.at + this.request_bound_ms)
      this.#fail(now, `${server} answered request ${request} ${now - record.at} ms after it was made`);
    record.answer = answer;
    record.answered_at = now;
    this.answers.set(answer.kind, (this.answers.get(answer.kind) ?? 0) + 1);
    const committed = answer.kind === 'committed' || answer.kind === 'no_op';
    if (committed && record.minority && record.partition_epoch === partition_epoch)
      this.#fail(
        now,
        `${server} answered ${answer.kind} to request ${request}, made on the minority side of a partition that lasted until the answer`,
      );
    if (answer.kind !== 'committed') return;
    const made = this.changes.get(answer.version);
    if (made === undefined)
      this.#fail(
        now,
        `request ${key} answered committed at version ${answer.version}, which no server applied`,
      );
    // The same change whatever the order of its keys (a leader takes in a change as it parses it).
    if (!sameJson(JSON.parse(made), JSON.parse(JSON.stringify(record.change))))
      this.#fail(
        now,
        `request ${key} answered committed at version ${answer.version}, which another change made`,
      );
  }

  /**
   * At the end: every change answered `committed` is in every config from its version on (all
   * the versions any server applied), unless another request touched what it touches.
   */
  checkNothingLost(now: number): { checked: number; excused: number } {
    const asked = [...this.requests.values()].filter((record) => record.change !== undefined);
    const versions = [...this.configs.keys()].sort((a, b) => a - b);
    let checked = 0;
    let excused = 0;
    for (const record of asked) {
      if (record.answer?.kind !== 'committed') continue;
      const change = record.change!;
      const mine = { ...change, base_version: 0 };
      const touched = asked.some(
        (other) => other !== record && conflicts(mine, [{ ...other.change!, base_version: 0 }]) !== undefined,
      );
      if (touched) {
        excused++;
        continue;
      }
      checked++;
      for (const version of versions) {
        if (version < record.answer.version) continue;
        const config = JSON.parse(this.configs.get(version)!) as ConfigDocument;
        const missing = missingFrom(config, change);
        if (missing !== undefined)
          this.#fail(
            now,
            `the change of request ${record.server}/${record.request}, committed at version ${record.answer.version}, is lost at version ${version}: ${missing}`,
          );
      }
    }
    return { checked, excused };
  }

  /**
   * At the end: no change whose answer said that nothing changed made a version. Only changes
   * asked once are checked: the same change asked twice may be refused once and committed once.
   */
  checkNothingChangedWhenSaid(now: number): number {
    const asked = new Map<string, number>();
    for (const record of this.requests.values())
      if (record.change !== undefined) {
        const json = JSON.stringify(record.change);
        asked.set(json, (asked.get(json) ?? 0) + 1);
      }
    const made = new Map([...this.changes].map(([version, change]) => [change, version]));
    let checked = 0;
    for (const record of this.requests.values()) {
      if (record.change === undefined || record.answer === undefined || !nothingChanged(record.answer))
        continue;
      const json = JSON.stringify(record.change);
      if (asked.get(json) !== 1) continue;
      checked++;
      const version = made.get(json);
      if (version !== undefined)
        this.#fail(
          now,
          `request ${record.server}/${record.request} was answered ${record.answer.kind} (nothing changed), but its change made version ${version}`,
        );
    }
    return checked;
  }

  /** Requests not answered whose server is still in the life that took them. */
  unanswered(lives: ReadonlyMap<string, number>): RequestRecord[] {
    return [...this.requests.values()].filter(
      (record) => record.answer === undefined && lives.get(record.server) === record.life,
    );
  }
}

type Json = { [key: string]: unknown };

function objectAt(value: unknown, ...path: string[]): Json | undefined {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, key))
      return undefined;
    at = (at as Json)[key];
  }
  return typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as Json) : undefined;
}

/** What of `change` is not in `config` (a one-line reason), or undefined when all of it is. */
function missingFrom(config: ConfigDocument, change: ConfigChange): string | undefined {
  const system = (name: string) => objectAt(config, 'cluster', 'system', name);
  const servers = objectAt(config, 'servers') ?? {};
  switch (change.kind) {
    case 'data_add':
    case 'data_rm': {
      const data = system(change.system)?.data;
      const items = new Set(Array.isArray(data) ? data : []);
      const wrong = change.items.filter((item) => items.has(item) !== (change.kind === 'data_add'));
      return wrong.length === 0
        ? undefined
        : `items ${wrong.join(', ')} ${change.kind === 'data_add' ? 'absent' : 'present'}`;
    }
    case 'system_set': {
      const now = system(change.system);
      for (const [key, value] of Object.entries(change.values)) {
        const have = now?.[key];
        if (value === null ? have !== undefined : JSON.stringify(have) !== JSON.stringify(value))
          return `${key} is ${JSON.stringify(have)}`;
      }
      return undefined;
    }
    case 'server_add':
      return Object.hasOwn(servers, change.id) ? undefined : `server ${change.id} absent`;
    case 'server_rm':
      return Object.hasOwn(servers, change.id) ? `server ${change.id} present` : undefined;
    case 'system_add':
      return system(change.system) !== undefined ? undefined : `system ${change.system} absent`;
    case 'system_rm':
      return system(change.system) === undefined ? undefined : `system ${change.system} present`;
  }
}
