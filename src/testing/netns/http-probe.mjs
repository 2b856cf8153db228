// HTTP probe helper for network-namespace tests. Runs inside one namespace and stays up, so that a
// probe costs a connection and not a node start-up. Reads one JSON request per line on stdin:
//   {"id": 1, "host": "10.77.0.100", "port": 8080, "timeoutMs": 1000}
// and answers each with one JSON line on stdout:
//   {"id": 1, "ok": true, "status": 200, "body": "s1", "ms": 3}
//   {"id": 1, "ok": false, "error": "timeout", "ms": 1000}
// Every request uses a new connection (no agent, no keep-alive). Exits when stdin closes.
import { request } from 'node:http';
import { createInterface } from 'node:readline';

const MAX_BODY = 64 * 1024;

function probe({ id, host, port, timeoutMs }) {
  const started = performance.now();
  let done = false;
  const finish = (result) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    process.stdout.write(
      `${JSON.stringify({ id, ms: Math.round(performance.now() - started), ...result })}\n`,
    );
  };
  const req = request({
    host,
    port,
    path: '/',
    method: 'GET',
    agent: false,
    headers: { connection: 'close' },
  });
  const timer = setTimeout(() => {
    finish({ ok: false, error: 'timeout' });
    req.destroy();
  }, timeoutMs);
  req.on('response', (response) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      if (body.length < MAX_BODY) body += chunk;
    });
    response.on('end', () => finish({ ok: true, status: response.statusCode, body }));
    response.on('error', (error) => finish({ ok: false, error: error.message }));
  });
  req.on('error', (error) => finish({ ok: false, error: error.code ?? error.message }));
  req.end();
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    process.stdout.write(`${JSON.stringify({ id: null, ok: false, error: 'bad request line' })}\n`);
    return;
  }
  const timeoutMs = Math.min(Math.max(Number(message.timeoutMs) || 1000, 1), 60_000);
  probe({ id: message.id, host: String(message.host), port: Number(message.port) || 8080, timeoutMs });
});
lines.on('close', () => process.exit(0));
