// The status page's adapter: reads /v1/status (every STATUS_EVERY_MS and after each event) and
// the event stream, and draws picture.js's picture with DOM calls (no HTML strings). A token,
// when the API wants one for reads, comes from `#token=` or a prompt, lives in sessionStorage
// and goes out as a bearer header; the stream is read with fetch so that it can carry it.
import { describeEvent, duration, keepEvents, picture, tokenFromFragment } from './picture.js';

const STATUS_EVERY_MS = 2000;
const RECONNECT_MS = 2000;
const TOKEN_KEY = 'flip-token';

let events = [];
let lastId = 0;
let statusPending = false;
let statusAgain = false;
let tokenAsked = false;

const fragmentToken = tokenFromFragment(location.hash);
if (fragmentToken !== undefined) {
  sessionStorage.setItem(TOKEN_KEY, fragmentToken);
  history.replaceState(null, '', location.pathname);
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token === null ? extra : { ...extra, Authorization: `Bearer ${token}` };
}

async function get(path, extra) {
  const response = await fetch(path, { headers: headers(extra), cache: 'no-store' });
  if (response.status === 401) {
    // Asked once per load; after that the notice says why nothing shows (reload to be asked again).
    if (!tokenAsked) {
      tokenAsked = true;
      const token = prompt('This flip API needs its token for reads:');
      if (token) sessionStorage.setItem(TOKEN_KEY, token.trim());
    }
    throw new Error('the API wants a token (open the page as /#token=…)');
  }
  return response;
}

function $(id) {
  return document.getElementById(id);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function notice(text) {
  $('notice').hidden = text === undefined;
  $('notice').textContent = text ?? '';
}

async function refreshStatus() {
  // One read at a time; a request while one is out makes one more read after it.
  if (statusPending) {
    statusAgain = true;
    return;
  }
  statusPending = true;
  statusAgain = false;
  try {
    const response = await get('/v1/status');
    if (!response.ok) throw new Error(`status answered ${response.status}`);
    draw(picture(await response.json()));
    notice(undefined);
  } catch (error) {
    notice(`cannot read this agent's status: ${error.message}`);
    $('health').textContent = 'unreachable';
    $('health').className = 'badge bad';
  } finally {
    statusPending = false;
    if (statusAgain) refreshStatus();
  }
}

function draw(view) {
  document.title = `flip: ${view.self}${view.healthy ? '' : ' (not healthy)'}`;
  $('self').textContent = `as seen by ${view.self}`;
  $('health').textContent = view.healthy ? 'healthy' : 'not healthy';
  $('health').className = `badge ${view.healthy ? 'ok' : 'bad'}`;
  $('quorum').textContent =
    `quorum ${view.quorum.size}: ${view.quorum.live} live${view.quorum.reachable ? '' : ', not reachable'}`;
  $('quorum').className = `badge ${view.quorum.reachable ? 'ok' : 'bad'}`;
  $('systems').textContent = view.systems
    .map((s) => `${s.name} (${s.type}, ${s.no_quorum_policy}${s.check ? `, check ${s.check}` : ''})`)
    .join(' · ');
  $('problems').hidden = view.problems.length === 0;
  $('problems').textContent = view.problems.join('; ');
  const boxes = view.servers.map((server) => {
    const box = el('article', `server${server.self ? ' self' : ''}`);
    box.dataset.id = server.id;
    box.dataset.state = server.state;
    box.append(
      el('span', 'state', server.label),
      el('div', 'name', server.self ? `${server.id} (this)` : server.id),
    );
    const facts = server.self
      ? server.address
      : `${server.address} · rtt ${duration(server.rtt_ms)} · heard ${duration(server.last_heard_ago_ms)} ago`;
    box.append(el('div', 'facts', facts));
    if (server.reports_against.length > 0)
      box.append(el('div', 'readiness', `reported by ${server.reports_against.join(', ')}`));
    if (server.readiness.length > 0)
      box.append(el('div', 'readiness', server.readiness.map((r) => `${r.system}: ${r.state}`).join(', ')));
    const chips = el('div', 'chips');
    for (const chip of server.chips) {
      const kind = chip.failing ? 'failing' : chip.kind;
      const text = chip.kind === 'leaving' ? `${chip.item} → ${chip.wanted_on ?? '?'}` : chip.item;
      const node = el('span', `chip ${kind}`, text);
      node.dataset.item = chip.item;
      node.dataset.kind = chip.kind;
      node.title = `${chip.system}: ${chip.kind}${chip.error ? `; ${chip.error}` : ''}`;
      chips.append(node);
    }
    box.append(chips);
    return box;
  });
  $('servers').replaceChildren(...boxes);
  $('unplaced').hidden = view.unplaced.length === 0;
  $('unplaced').textContent =
    `no live member can take: ${view.unplaced.map((u) => `${u.system} ${u.item}`).join(', ')}`;
}

function drawEvents() {
  const rows = events
    .slice()
    .reverse()
    .map((event) => {
      const { text, bad } = describeEvent(event);
      const row = el('li', bad ? 'bad' : '');
      row.dataset.type = event.type;
      row.append(el('time', '', event.at.slice(11, 23)), text);
      return row;
    });
  $('events').replaceChildren(...rows);
}

function addEvents(incoming) {
  if (incoming.length === 0) return;
  events = keepEvents(events, incoming);
  lastId = Math.max(lastId, ...incoming.map((event) => event.id));
  drawEvents();
  refreshStatus();
}

/** Reads the SSE stream with fetch (it can carry the token); reconnects from the last id. */
async function follow() {
  for (;;) {
    try {
      const response = await get(`/v1/events?since=${lastId}`, { Accept: 'text/event-stream' });
      if (!response.ok || response.body === null) throw new Error(`events answered ${response.status}`);
      $('link').textContent = 'live';
      $('link').className = 'badge ok';
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop() ?? '';
        const batch = [];
        for (const block of blocks) {
          const data = block
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).replace(/^ /, ''))
            .join('\n');
          if (data !== '') batch.push(JSON.parse(data));
        }
        addEvents(batch);
        if (buffer.length > 1_000_000) throw new Error('event stream line too long');
      }
    } catch {
      // Shown below; the loop reconnects.
    }
    $('link').textContent = 'reconnecting';
    $('link').className = 'badge bad';
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

async function start() {
  await refreshStatus();
  try {
    const response = await get('/v1/events?limit=60');
    if (response.ok) {
      const doc = await response.json();
      lastId = doc.last_id;
      events = keepEvents([], doc.events);
      drawEvents();
    }
  } catch {
    // The stream below starts from 0 then.
  }
  setInterval(refreshStatus, STATUS_EVERY_MS);
  follow();
}

start();
