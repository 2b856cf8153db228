// A tiny HTTP server for network-namespace tests: answers every request with the server's name.
// Usage: node http-server.mjs NAME [PORT]   (PORT defaults to 8080)
// Listens on [::]:PORT, dual stack, so it answers on every IPv4 and IPv6 address of its namespace,
// virtual IPs added later included. Prints "listening PORT" on stdout once ready; exits on
// SIGTERM or SIGINT.
import { createServer } from 'node:http';

const [name, portText = '8080'] = process.argv.slice(2);
const port = Number(portText);
if (!name || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node http-server.mjs NAME [PORT]\n');
  process.exit(2);
}

const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  response.end(name);
});
// No keep-alive: every request of a test opens a fresh connection, so it shows who holds an
// address now, not who held it when an older connection was opened.
server.keepAliveTimeout = 0;
server.listen({ host: '::', port, ipv6Only: false }, () => {
  process.stdout.write(`listening ${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
