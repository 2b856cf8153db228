/**
 * The HTTP API's adapter: node:http, bounded in connections, header and body size, time and
 * event streams; every request goes through `decide` (routes.ts) and is answered from the
 * agent's handlers. A fault in a handler is answered with 500 and counted; it never reaches
 * the agent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus.js';
import type { EventListener } from '../observe/events.js';
import { loadPage, PAGE_CSP, type PageFile } from './page.js';
import { type AccessPolicy, type Decision, decide, ROUTES, type RouteName } from './routes.js';
import type { ErrorDoc, EventDoc, EventsDoc, HealthDoc, StatusDoc } from './types.js';

/** Limits of the API server; each bounds what one client can make the agent hold. */
export const API_LIMITS = {
  /** Open connections at once (a status page, a Prometheus, a few curls and CLIs). */
  connections_max: 64,
  /** Event streams open at once. */
  streams_max: 16,
  /** Request header bytes (node's default is 16 KiB; ours are short). */
  header_bytes_max: 8 * 1024,
  /** Request body bytes: no route takes a body yet. */
  body_bytes_max: 4 * 1024,
  /** Time to send a whole request; and its headers. */
  request_timeout_ms: 10_000,
  headers_timeout_ms: 5_000,
  keep_alive_timeout_ms: 5_000,
  /** A stream's comment line that keeps proxies from closing an idle stream. */
  stream_heartbeat_ms: 15_000,
  /** Bytes a slow stream reader may leave unsent before it is dropped. */
  stream_buffer_bytes_max: 1024 * 1024,
} as const;

export interface ApiHandlers {
  health(): HealthDoc;
  status(): StatusDoc;
  events(since: number, limit: number | undefined): EventsDoc;
  metrics(): string;
  subscribe(listener: EventListener): () => void;
}

export interface ApiCounters {
  api_requests: number;
  api_faults: number;
  api_unauthorized: number;
}

export interface ApiServerOptions {
  host: string;
  port: number;
  policy: AccessPolicy;
  handlers: ApiHandlers;
  counters: ApiCounters;
  /** The status page's files by path, or why they are missing (default: read from web/). */
  page?: Map<string, PageFile> | string;
  /** Told of a fault (for the log); must not throw. */
  onFault?: (error: unknown) => void;
}

export class ApiServer {
  readonly #options: ApiServerOptions;
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  readonly #page: Map<string, PageFile> | string;

  private constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#page = options.page ?? loadPage();
    this.#server = createServer(
      {
        maxHeaderSize: API_LIMITS.header_bytes_max,
        requestTimeout: API_LIMITS.request_timeout_ms,
        headersTimeout: API_LIMITS.headers_timeout_ms,
        keepAliveTimeout: API_LIMITS.keep_alive_timeout_ms,
      },
      (request, response) => this.#handle(request, response),
    );
    this.#server.maxConnections = API_LIMITS.connections_max;
    this.#server.on('clientError', (_error, socket) => {
      // A malformed request or one with headers too large: a short answer, never a crash.
      if (socket.writable && !socket.destroyed)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.#server.on('error', (error) => this.#fault(error));
  }

  /** Listens; rejects when the address cannot be bound (in use, not on this host). */
  static async listen(options: ApiServerOptions): Promise<ApiServer> {
    const api = new ApiServer(options);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      api.#server.once('error', onError);
      api.#server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
        api.#server.off('error', onError);
        resolve();
      });
    });
    return api;
  }

  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** Ends the streams and stops listening; open requests are cut. */
  async close(): Promise<void> {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    try {
      this.#options.counters.api_requests++;
      const length = Number(request.headers['content-length'] ?? 0);
      if (!(length <= API_LIMITS.body_bytes_max)) {
        this.#tooLarge(request, response);
        return;
      }
      // No route reads a body; one sent (a chunked one too) is counted against the bound and
      // discarded, and the answer waits for its end.
      let received = 0;
      let refused = false;
      request.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > API_LIMITS.body_bytes_max && !refused) {
          refused = true;
          this.#tooLarge(request, response);
        }
      });
      request.on('error', () => undefined);
      request.on('end', () => {
        if (refused) return;
        try {
          const decision = decide(
            {
              method: request.method ?? '',
              url: request.url ?? '',
              authorization: request.headers.authorization,
            },
            this.#options.policy,
            ROUTES,
          );
          this.#answer(request, response, decision);
        } catch (error) {
          this.#internal(response, error);
        }
      });
    } catch (error) {
      this.#internal(response, error);
    }
  }

  #tooLarge(request: IncomingMessage, response: ServerResponse): void {
    this.#error(response, 413, 'too_large', `request body over ${API_LIMITS.body_bytes_max} bytes`, true);
    // Whatever else comes is not read: the connection ends with the answer.
    response.on('finish', () => request.destroy());
  }

  #internal(response: ServerResponse, error: unknown): void {
    this.#fault(error);
    if (!response.headersSent) this.#error(response, 500, 'internal', 'internal error (counted and logged)');
    else response.destroy();
  }

  #answer(request: IncomingMessage, response: ServerResponse, decision: Decision<RouteName>): void {
    if (decision.kind === 'error') {
      if (decision.code === 'unauthorized') this.#options.counters.api_unauthorized++;
      const headers: Record<string, string> = {};
      if (decision.allow !== undefined) headers.Allow = decision.allow;
      if (decision.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="flip"';
      this.#error(response, decision.status, decision.code, decision.message, false, headers);
      return;
    }
    const { handlers } = this.#options;
    switch (decision.route.name) {
      case 'health': {
        const health = handlers.health();
        this.#json(response, health.ok ? 200 : 503, health);
        return;
      }
      case 'status':
        this.#json(response, 200, handlers.status());
        return;
      case 'metrics':
        this.#send(response, 200, PROMETHEUS_CONTENT_TYPE, handlers.metrics());
        return;
      case 'page':
        this.#pageFile(response, decision.route.path);
        return;
      case 'events': {
        const since = decision.query.since;
        const limit = decision.query.limit;
        if (wantsStream(request)) this.#stream(request, response, since, limit);
        else this.#json(response, 200, handlers.events(since ?? 0, limit));
        return;
      }
    }
  }

  /** Server-sent events: the kept events after `since` (or Last-Event-ID), then each new one. */
  #stream(
    request: IncomingMessage,
    response: ServerResponse,
    since: number | undefined,
    limit: number | undefined,
  ): void {
    if (this.#streams.size >= API_LIMITS.streams_max) {
      this.#error(
        response,
        503,
        'too_many_streams',
        `at most ${API_LIMITS.streams_max} event streams at once`,
      );
      return;
    }
    const lastEventId = request.headers['last-event-id'];
    const resumeAt =
      since ??
      (typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.#streams.add(response);
    const write = (event: EventDoc) => {
      response.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      // A reader that does not keep up is let go rather than buffered without end.
      if (response.writableLength > API_LIMITS.stream_buffer_bytes_max) response.destroy();
    };
    response.write('retry: 2000\n\n');
    // Without a position the stream starts now; with one, it first sends what was missed.
    if (resumeAt !== undefined)
      for (const event of this.#options.handlers.events(resumeAt, limit).events) write(event);
    const unsubscribe = this.#options.handlers.subscribe(write);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), API_LIMITS.stream_heartbeat_ms);
    heartbeat.unref();
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.#streams.delete(response);
    };
    response.on('close', end);
    response.on('error', end);
  }

  #pageFile(response: ServerResponse, path: string): void {
    const file = typeof this.#page === 'string' ? undefined : this.#page.get(path);
    if (file === undefined) {
      const why = typeof this.#page === 'string' ? this.#page : `no page file for ${path}`;
      this.#error(response, 404, 'not_found', why);
      return;
    }
    response.writeHead(200, {
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    });
    response.end(file.body);
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    this.#send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
  }

  #error(
    response: ServerResponse,
    status: number,
    code: ErrorDoc['error']['code'],
    message: string,
    close = false,
    headers: Record<string, string> = {},
  ): void {
    const body: ErrorDoc = { error: { status, code, message } };
    if (close) response.setHeader('Connection', 'close');
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    this.#json(response, status, body);
  }

  #send(response: ServerResponse, status: number, type: string, text: string): void {
    response.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(text);
  }

  #fault(error: unknown): void {
    this.#options.counters.api_faults++;
    try {
      this.#options.onFault?.(error);
    } catch {
      // The log failing must not stop the API either.
    }
  }
}

function wantsStream(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '')
    .split(',')
    .some((part) => part.trim().startsWith('text/event-stream'));
}
