/**
 * Reports and their lifetime: which members say another is unreachable, about which of its
 * incarnations, and until when each report counts (see timing.ts, reportTtlMs). A report about an
 * older incarnation is void: a new incarnation starts a new set. The quorum (quorum.ts) counts
 * what is here; the node spreads it as `suspect` updates.
 */
import type { Update } from './messages.js';

/** The reports against one member. */
export interface Suspicion {
  incarnation: number;
  /** reporter -> when its report expires (ms). */
  reporters: Map<number, number>;
}

export class Reports {
  readonly #byMember = new Map<number, Suspicion>();

  get(member: number): Suspicion | undefined {
    return this.#byMember.get(member);
  }

  has(member: number): boolean {
    return this.#byMember.has(member);
  }

  /** The reports against `member` at `incarnation`; reports about another incarnation are dropped. */
  about(member: number, incarnation: number): Suspicion {
    let suspicion = this.#byMember.get(member);
    if (!suspicion || suspicion.incarnation !== incarnation) {
      suspicion = { incarnation, reporters: new Map() };
      this.#byMember.set(member, suspicion);
    }
    return suspicion;
  }

  /** Forgets every report against `member` (it refuted, or it was declared down or left). */
  forget(member: number): void {
    this.#byMember.delete(member);
  }

  entries(): IterableIterator<[number, Suspicion]> {
    return this.#byMember.entries();
  }

  /** Reporters currently counted against `member`, ascending. */
  reportersOf(member: number): number[] {
    return [...(this.#byMember.get(member)?.reporters.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Moves every expiry `late_ms` later: our own stall must not age others' reports. */
  stretch(late_ms: number): void {
    for (const suspicion of this.#byMember.values()) {
      for (const [reporter, expiresAt] of suspicion.reporters)
        suspicion.reporters.set(reporter, expiresAt + late_ms);
    }
  }

  /** Drops the reports expired at `now`; returns the members left with none, now forgotten. */
  expire(now: number): number[] {
    const cleared: number[] = [];
    for (const [member, suspicion] of this.#byMember) {
      for (const [reporter, expiresAt] of suspicion.reporters) {
        if (expiresAt <= now) suspicion.reporters.delete(reporter);
      }
      if (suspicion.reporters.size > 0) continue;
      this.#byMember.delete(member);
      cleared.push(member);
    }
    return cleared;
  }
}

/** The `suspect` update that spreads the reports against `member`. */
export function suspectUpdate(member: number, suspicion: Suspicion): Update {
  return {
    kind: 'suspect',
    member,
    incarnation: suspicion.incarnation,
    reporters: [...suspicion.reporters.keys()].sort((a, b) => a - b),
  };
}
