/**
 * The status page in a real browser (Debian's chromium driven by playwright-core): a real
 * 3-agent loopback cluster with recording scripts; the page of `flip` shows every server and
 * each item on its holder; flip1 is SIGKILLed and the page shows it down and its item on flip;
 * flip1 comes back and the item goes home. Then the page of a made-up 20-server, 100-item
 * status: every chip inside its server's box, no sideways scrolling; and an API that wants the
 * token for reads, given to the page as #token=. Screenshots go to
 * test-artifacts/status-page/ (the path is printed). In CI (CI=true) a missing chromium fails;
 * elsewhere it skips. FLIP_CHROMIUM names another chromium binary.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { hashToken } from '../../src/api/auth.js';
import { ApiServer } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import { LoopbackCluster } from '../../src/demo/loopback-cluster.js';
import { EventRing } from '../../src/observe/events.js';
import { LOOPBACK_TIMING } from '../../src/testing/timing.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT } from '../helpers/flip-cli.js';
import { member, snapshot, system } from '../helpers/snapshot.js';

const CHROMIUM = process.env.FLIP_CHROMIUM ?? '/usr/bin/chromium';
const README = join(ROOT, 'examples/readme.json');
const FLIP_COMMAND = [process.execPath, '--import', 'tsx', CLI];
const ARTIFACTS = join(ROOT, 'test-artifacts/status-page');
const WAIT_MS = 20_000;

const missing = existsSync(CHROMIUM) ? undefined : `no chromium at ${CHROMIUM}`;
if (missing !== undefined && process.env.CI === 'true')
  throw new Error(`${missing}: the status page test needs it in CI (apt-get install chromium; .ci/run does)`);

async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
  return path;
}

/** Waits until the page shows `selector` (it redraws from /v1/status and the event stream). */
async function shows(page: Page, selector: string, what: string): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout: WAIT_MS });
  } catch {
    const servers = await page
      .locator('#servers')
      .textContent()
      .catch(() => '?');
    throw new Error(
      `the page does not show ${what} (${selector}) within ${WAIT_MS} ms; it shows:\n${servers}`,
    );
  }
}

const server = (id: string, state: string) => `.server[data-id="${id}"][data-state="${state}"]`;
const chip = (id: string, item: string, kind: string) =>
  `.server[data-id="${id}"] .chip[data-item="${item}"][data-kind="${kind}"]`;

describe('the status page in chromium', { skip: missing, timeout: 90_000 }, () => {
  let browser: Browser | undefined;
  let cluster: LoopbackCluster | undefined;
  after(async () => {
    await browser?.close();
    await cluster?.close(3_000);
  });

  it('shows the servers and who holds what; a SIGKILLed agent down and its item moved, then home again', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    cluster = await LoopbackCluster.create({
      configFile: README,
      overrides: { ...LOOPBACK_TIMING, hold_down: 0 },
      flipCommand: FLIP_COMMAND,
    });
    const c = cluster;
    for (const id of c.ids) c.start(id);
    const port = c.config.servers.find((s) => s.id === 'flip')!.port;
    const page = await browser.newPage({ viewport: { width: 1000, height: 560 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // The agent's API listens a moment after its process starts.
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${port}/v1/health`).then(
          () => true,
          () => false,
        ),
      {
        what: "flip's API listening",
        timeoutMs: WAIT_MS,
      },
    );
    await page.goto(`http://127.0.0.1:${port}/`);

    for (const id of ['flip1', 'flip', 'flip2']) await shows(page, server(id, 'alive'), `${id} alive`);
    await shows(page, chip('flip', '192.168.0.2', 'held'), 'flip holding 192.168.0.2');
    await shows(page, chip('flip1', '192.168.0.1', 'wanted'), '192.168.0.1 on flip1');
    await shows(page, '#link.ok', 'the event stream live');
    await shows(page, '#events li[data-type="script"]', 'script runs among the events');
    // One chip once a start-up hand-back is over (until then flip shows it leaving, flip1 wanting it).
    await waitFor(async () => (await page.locator('.chip[data-item="192.168.0.1"]').count()) === 1, {
      what: 'each item on one server',
      timeoutMs: WAIT_MS,
    });
    assert.deepEqual(Object.fromEntries(c.holdings().get('ip')!), {
      flip1: ['192.168.0.1'],
      flip: ['192.168.0.2'],
      flip2: [],
    });
    await shot(page, '1-all-up');

    c.signal('flip1', 'SIGKILL');
    await c.waitExit('flip1');
    await shows(page, server('flip1', 'down'), 'flip1 down');
    await shows(page, chip('flip', '192.168.0.1', 'held'), "flip holding flip1's 192.168.0.1");
    assert.equal(await page.locator('.server[data-id="flip1"] .chip').count(), 0);
    assert.match((await page.locator('#health').textContent()) ?? '', /not healthy/);
    assert.match((await page.locator('#events').textContent()) ?? '', /flip1: .* → down/);
    assert.deepEqual(
      c
        .holdings(new Set(['flip1']))
        .get('ip')!
        .get('flip'),
      ['192.168.0.1', '192.168.0.2'],
    );
    await shot(page, '2-flip1-down');

    c.start('flip1');
    await shows(page, server('flip1', 'alive'), 'flip1 alive again');
    await shows(page, chip('flip1', '192.168.0.1', 'wanted'), '192.168.0.1 back on flip1');
    await shows(
      page,
      `.server[data-id="flip"] .chips:not(:has([data-item="192.168.0.1"]))`,
      'flip without it',
    );
    await shows(page, '#health.ok', 'healthy again');
    await shot(page, '3-flip1-home');
    assert.deepEqual(problems, [], 'no errors in the browser console');
  });

  it('stays readable at 20 servers and 100 items: every chip inside its box, no sideways scroll', async () => {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    const ids = Array.from({ length: 20 }, (_, i) =>
      i === 0 ? 'flip' : `node${String(i).padStart(2, '0')}`,
    );
    const items = Array.from({ length: 100 }, (_, i) => `10.0.${Math.floor(i / 50)}.${(i % 50) + 1}`);
    const wanted: Record<string, string[]> = {};
    items.forEach((item, i) => {
      const holder = ids[i % 19 === 3 ? 1 : i % 20]!;
      wanted[holder] = [...(wanted[holder] ?? []), item];
    });
    const state = (i: number) =>
      i === 7 ? 'down' : i === 11 ? 'probably_down' : i === 15 ? 'left' : 'alive';
    const big = snapshot({
      quorum_size: 11,
      members: ids.map((id, i) =>
        member(
          id,
          i,
          i === 0 ? { rtt_ms: undefined, last_heard: Number.NEGATIVE_INFINITY } : { state: state(i) },
        ),
      ),
      systems: [
        system({
          members: ids,
          data: items,
          wanted,
          desired_here: wanted.flip!,
          runner: { ...system().runner!, desired: wanted.flip!, held: wanted.flip! },
        }),
      ],
    });
    const ring = new EventRing(10);
    const api = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      policy: { loopback: true, token: undefined },
      counters: { api_requests: 0, api_faults: 0, api_unauthorized: 0 },
      handlers: {
        health: () => healthDoc(big),
        status: () => assembleStatus(big),
        events: (since, limit) => ring.since(since, limit),
        metrics: () => '',
        subscribe: (listener) => ring.subscribe(listener),
      },
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`http://127.0.0.1:${api.address.port}/`);
      await shows(page, server('node07', 'down'), 'node07 down');
      assert.equal(await page.locator('.server').count(), 20);
      assert.equal(await page.locator('.chip[data-item]').count(), 100);
      // Run in the page (a string: the tests' types have no DOM).
      const outside = (await page.evaluate(`
        [...document.querySelectorAll('.server')].flatMap((box) => {
          const outer = box.getBoundingClientRect();
          return [...box.querySelectorAll('.chip')]
            .filter((c) => {
              const r = c.getBoundingClientRect();
              return r.left < outer.left || r.right > outer.right || r.bottom > outer.bottom;
            })
            .map((c) => box.dataset.id + ':' + c.dataset.item);
        })`)) as string[];
      assert.deepEqual(outside, [], 'chips outside their server box');
      const widths = (await page.evaluate(
        '[document.documentElement.scrollWidth, window.innerWidth]',
      )) as number[];
      assert.ok(widths[0]! <= widths[1]!, `page wider than the window: ${widths.join(' > ')}`);
      await shot(page, '4-twenty-servers');
    } finally {
      await api.close();
    }
  });
  it('where reads need the token, takes it from #token=, drops it from the address and sends it on every read', async () => {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    const ring = new EventRing(10);
    const counters = { api_requests: 0, api_faults: 0, api_unauthorized: 0 };
    const api = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      policy: { loopback: false, token: hashToken('s3cret') },
      counters,
      handlers: {
        health: () => healthDoc(snapshot()),
        status: () => assembleStatus(snapshot()),
        events: (since, limit) => ring.since(since, limit),
        metrics: () => '',
        subscribe: (listener) => ring.subscribe(listener),
      },
    });
    try {
      const page = await browser.newPage();
      page.on('dialog', (dialog) => void dialog.dismiss());
      await page.goto(`http://127.0.0.1:${api.address.port}/#token=s3cret`);
      await shows(page, chip('flip', '192.168.0.2', 'held'), 'the status read with the token');
      await shows(page, '#link.ok', 'the event stream open with the token');
      ring.add(Date.now(), { type: 'agent', state: 'leaving' });
      await shows(page, '#events li[data-type="agent"]', 'an event from the stream');
      assert.equal(new URL(page.url()).hash, '', 'the token is not left in the address bar');
      assert.equal(counters.api_unauthorized, 0);
      // A wrong token is refused, and the page says why.
      const other = await browser.newPage();
      other.on('dialog', (dialog) => void dialog.dismiss());
      await other.goto(`http://127.0.0.1:${api.address.port}/#token=wrong`);
      await shows(other, '#notice:not([hidden])', 'a notice');
      assert.match((await other.locator('#notice').textContent()) ?? '', /wants a token/);
      assert.ok(counters.api_unauthorized > 0);
    } finally {
      await api.close();
    }
  });
});
