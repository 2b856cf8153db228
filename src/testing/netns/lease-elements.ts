/**
 * The nftables fence of the shipped scripts (scripts/linux/vip-config.bash), watched from a test:
 * when each server's lease element of each VIP lasts. A host with the fence answers for an address
 * only while the address is there AND its element in the `leased` sets lasts; the kernel ends an
 * element at its timeout, with no event, so the elements are sampled: one `nft -i` per server
 * namespace lists the ruleset every `everyMs` (50 ms by default), and each element seen gives the
 * interval [expires - timeout, expires] during which it was certainly there (renewals come every
 * few hundred ms, with a 1 s timeout, so consecutive samples overlap while it is renewed).
 */
import type { Lab, LabProcess } from './harness.js';
import { canonicalIp } from './harness.js';

const MARKER = 'flip-sampler-marker';

/** "1s", "992ms", "1s4ms", "2m3s" as nft prints a duration, in ms; undefined when it is not one. */
export function nftDurationMs(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (match === null || text === '') return undefined;
  const [d, h, m, s, ms] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return (((d * 24 + h) * 60 + m) * 60 + s) * 1000 + ms;
}

/** What one `list ruleset` shows of the fence: whether its table is there, and each element's timing. */
export interface FenceSample {
  fenced: boolean;
  /** Canonical address -> { timeout_ms, expires_ms } of its element in leased4 / leased6. */
  elements: Map<string, { timeout_ms: number; expires_ms: number }>;
}

/** Parses `nft list ruleset` output for table inet flip's leased4 and leased6 sets. */
export function parseFence(ruleset: string): FenceSample {
  const elements = new Map<string, { timeout_ms: number; expires_ms: number }>();
  const table = ruleset.indexOf('table inet flip {');
  if (table === -1) return { fenced: false, elements };
  const rest = ruleset.slice(table);
  const end = rest.indexOf('\n}');
  const body = end === -1 ? rest : rest.slice(0, end);
  for (const name of ['leased4', 'leased6']) {
    const start = body.indexOf(`set ${name} {`);
    if (start === -1) continue;
    const close = body.indexOf('\n\t}', start);
    const set = body.slice(start, close === -1 ? undefined : close);
    for (const match of set.matchAll(/([0-9a-fA-F.:]+) timeout (\S+?) expires (\S+?)[,\s}]/g)) {
      const timeout_ms = nftDurationMs(match[2]!);
      const expires_ms = nftDurationMs(match[3]!);
      if (timeout_ms === undefined || expires_ms === undefined) continue;
      let address: string;
      try {
        address = canonicalIp(match[1]!);
      } catch {
        continue;
      }
      elements.set(address, { timeout_ms, expires_ms });
    }
  }
  return { fenced: true, elements };
}

export class LeaseElementSampler {
  /** Per server: whether its fence table was ever seen. */
  readonly fenced = new Set<string>();
  /** Per server and VIP: the intervals [from, to] (epoch ms) the element was certainly there. */
  readonly #intervals = new Map<string, Array<[number, number]>>();
  /** Per server: epoch ms of the samples taken. */
  readonly #samples = new Map<string, number[]>();
  readonly #procs: LabProcess[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  samples = 0;

  private constructor(
    private readonly lab: Lab,
    private readonly vips: Set<string>,
    private readonly now: () => number,
  ) {}

  static start(lab: Lab, vips: Iterable<string>, now: () => number, everyMs = 50): LeaseElementSampler {
    const sampler = new LeaseElementSampler(lab, new Set([...vips].map(canonicalIp)), now);
    sampler.#begin(everyMs);
    return sampler;
  }

  #begin(everyMs: number): void {
    const pending = new Map<string, number>();
    for (const server of this.lab.servers) {
      this.#samples.set(server, []);
      const proc = this.lab.spawn(server, ['sh', '-c', 'exec nft -i 2>&1'], { stdin: true });
      this.#procs.push(proc);
      let buffer = '';
      proc.child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        // Each listing ends with the marker's error: the marker line and a line of carets.
        for (;;) {
          const at = buffer.indexOf(`\n${MARKER}\n`);
          if (at === -1) break;
          const carets = buffer.indexOf('\n', at + MARKER.length + 2);
          if (carets === -1) break;
          const text = buffer.slice(0, at);
          buffer = buffer.slice(carets + 1);
          const sent = pending.get(server);
          pending.delete(server);
          if (sent !== undefined) this.#record(server, (sent + this.now()) / 2, parseFence(text));
        }
      });
      proc.child.stdin?.on('error', () => {});
    }
    const tick = () => {
      if (this.#stopped || this.lab.isDestroyed) return;
      for (const [index, server] of this.lab.servers.entries()) {
        if (pending.has(server)) continue;
        const stdin = this.#procs[index]!.child.stdin;
        if (stdin === null || stdin.destroyed) continue;
        pending.set(server, this.now());
        stdin.write(`list ruleset\n${MARKER}\n`);
      }
      this.#timer = setTimeout(tick, everyMs);
      this.#timer.unref();
    };
    tick();
  }

  #record(server: string, at: number, sample: FenceSample): void {
    this.samples++;
    this.#samples.get(server)!.push(at);
    if (sample.fenced) this.fenced.add(server);
    for (const [address, { timeout_ms, expires_ms }] of sample.elements) {
      if (!this.vips.has(address)) continue;
      const key = `${server} ${address}`;
      const list = this.#intervals.get(key) ?? [];
      const from = at + expires_ms - timeout_ms;
      const to = at + expires_ms;
      const last = list[list.length - 1];
      // The same renewal seen again, or a later one that overlaps: one interval.
      if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
      else list.push([from, to]);
      this.#intervals.set(key, list);
    }
  }

  /** The intervals during which `server`'s element for `vip` was certainly there. */
  intervals(server: string, vip: string): Array<[number, number]> {
    return this.#intervals.get(`${server} ${canonicalIp(vip)}`) ?? [];
  }

  /** The first sample of `server` taken after `at` (epoch ms), if any. */
  sampleAfter(server: string, at: number): number | undefined {
    return this.#samples.get(server)?.find((time) => time > at);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const proc of this.#procs) proc.child.stdin?.end();
    await Promise.all(this.#procs.map((proc) => this.lab.stop(proc, 500)));
  }
}
