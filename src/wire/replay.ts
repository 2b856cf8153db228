/**
 * Replay protection: remembers, per sender, which packets were already accepted.
 *
 * A sender numbers its packets 0, 1, 2, ... within one boot (one run of its process) and its
 * boot id grows from one run to the next. For each sender this keeps the highest boot id seen
 * and, for that boot, the highest sequence number and a bitmap of the REPLAY_WINDOW_SEQS
 * numbers below it. A packet is fresh if its sequence number is new within the window; UDP
 * may reorder packets, and the window accepts late ones as long as they are not too late.
 *
 * A higher boot id means the sender restarted: its numbering starts over, so a new window is
 * started and a restarted node is never locked out. The window of the boot before it is kept:
 * a higher boot id may also be a second agent started with the same server id (a copied
 * config), and the run that was there first must not be locked out by it; which of the two is
 * listened to is the protocol's decision (membership/identity.ts), and a packet of the previous
 * boot is still accepted only once. Any lower boot id is a packet from before that, replayed or
 * delayed, and is refused.
 *
 * `check` does not change anything; `accept` records a packet and is called only once the
 * packet authenticated and decoded, so garbage can never move the window.
 */

/**
 * How many sequence numbers below the highest are remembered: a packet reordered further back
 * than this is dropped as a replay.
 */
export const REPLAY_WINDOW_SEQS = 128;

const WINDOW_MASK = (1n << BigInt(REPLAY_WINDOW_SEQS)) - 1n;

export type ReplayVerdict = 'fresh' | 'replay' | 'stale_boot';

export interface SenderWindow {
  bootId: number;
  highestSeq: number;
  /** Bit k set: sequence number highestSeq - k was accepted (bit 0 is highestSeq itself). */
  seen: bigint;
}

interface SenderWindows {
  current: SenderWindow;
  /** The boot before `current`, if any. */
  previous: SenderWindow | undefined;
}

export class ReplayGuard {
  readonly #senders = new Map<number, SenderWindows>();

  /** Whether a packet from `sender` would be fresh; changes nothing. */
  check(sender: number, bootId: number, seq: number): ReplayVerdict {
    const windows = this.#senders.get(sender);
    if (windows === undefined || bootId > windows.current.bootId) return 'fresh';
    const window = bootId === windows.previous?.bootId ? windows.previous : windows.current;
    if (bootId !== window.bootId) return 'stale_boot';
    if (seq > window.highestSeq) return 'fresh';
    const age = window.highestSeq - seq;
    if (age >= REPLAY_WINDOW_SEQS) return 'replay';
    return (window.seen >> BigInt(age)) & 1n ? 'replay' : 'fresh';
  }

  /** Records an accepted packet; throws if `check` would not call it fresh (a caller's bug). */
  accept(sender: number, bootId: number, seq: number): void {
    const verdict = this.check(sender, bootId, seq);
    if (verdict !== 'fresh') throw new Error(`replay: accept of a packet that is ${verdict}`);
    const windows = this.#senders.get(sender);
    if (windows === undefined || bootId > windows.current.bootId) {
      this.#senders.set(sender, {
        current: { bootId, highestSeq: seq, seen: 1n },
        previous: windows?.current,
      });
      return;
    }
    const window = bootId === windows.current.bootId ? windows.current : windows.previous!;
    if (seq > window.highestSeq) {
      const shift = seq - window.highestSeq;
      window.seen = shift >= REPLAY_WINDOW_SEQS ? 1n : ((window.seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      window.highestSeq = seq;
    } else {
      window.seen |= 1n << BigInt(window.highestSeq - seq);
    }
  }

  /** A copy of what is remembered about `sender`'s latest boot, for diagnostics and tests. */
  window(sender: number): SenderWindow | undefined {
    const windows = this.#senders.get(sender);
    return windows === undefined ? undefined : { ...windows.current };
  }
}
