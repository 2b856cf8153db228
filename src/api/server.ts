/**
 * The HTTP API's adapter: node:http, bounded in connections, header and body size, time and
 * event streams; every request goes through `decide` (routes.ts) and is answered from the
 * agent's handlers. A fault in a handler is answered with 500 and counted; it never reaches
 * the agent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConfigChange, describeChange, parseChange } from '../changes/index.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus.js';
import type { EventListener } from '../observe/events.js';
import type { ChangeAnswer } from '../replica/answer.js';
import { changeHttp } from './change-http.js';
import type { ChangeService } from './change-service.js';
import { loadPage, PAGE_CSP, type PageFile } from './page.js';
import { redactConfig } from './redact-config.js';
import {
  type AccessPolicy,
  type Decision,
  decide,
  HISTORY_LIMIT_DEFAULT,
  ROUTES,
  type RouteName,
} from './routes.js';
import type {
  ConfigDoc,
  ConfigHistoryDoc,
  ErrorDoc,
  EventDoc,
  EventsDoc,
  HealthDoc,
  ReloadOutcome,
  StatusDoc,
} from './types.js';

/** Limits of the API server; each bounds what one client can make the agent hold. */
export const API_LIMITS = {
  /** Open connections at once (a status page, a Prometheus, a few curls and CLIs). */
  connections_max: 64,
  /** Event streams open at once. */
  streams_max: 16,
  /** Request header bytes (node's default is 16 KiB; ours are short). */
  header_bytes_max: 8 * 1024,
  /**
   * Request body bytes of a route that reads none (a body sent is counted and discarded), and of
   * every request refused before its route (a wrong token): a route that reads one has its own
   * bound (Route.body, routes.ts).
   */
  body_bytes_max: 4 * 1024,
  /**
   * How long POST /v1/changes waits for the agent's answer before it answers 504 itself. The
   * replica answers every request within its own bound (requestTimeoutMs: 4 s with the default
   * timing), so this only catches an agent that never answers.
   */
  change_wait_ms: 20_000,
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
  /** POST /v1/reload: the agent reads its config file again (as on SIGHUP); absent: 501. */
  reload?: () => Promise<ReloadOutcome>;
  /**
   * Runtime changes and the committed config (issue 12); absent: POST /v1/changes, GET /v1/config
   * and GET /v1/config/history answer 501.
   */
  changes?: ChangeService;
  /** Overrides API_LIMITS.change_wait_ms (tests). */
  change_wait_ms?: number;
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
      // Decided on the headers, so that only a request that may use a route reading a body can
      // send one larger than the small bound.
      const decision = decide(
        {
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
        },
        this.#options.policy,
        ROUTES,
      );
      const reads = decision.kind === 'route' ? decision.route.body : undefined;
      const bytes_max = reads?.bytes_max ?? API_LIMITS.body_bytes_max;
      const length = Number(request.headers['content-length'] ?? 0);
      if (!(length <= bytes_max)) {
        this.#tooLarge(request, response, bytes_max);
        return;
      }
      // A body (a chunked one too) is counted against the bound; kept only for a route that reads
      // one, else discarded. The answer waits for its end.
      const chunks: Buffer[] = [];
      let received = 0;
      let refused = false;
      request.on('data', (chunk: Buffer) => {
        if (refused) return;
        received += chunk.length;
        if (received > bytes_max) {
          refused = true;
          chunks.length = 0;
          this.#tooLarge(request, response, bytes_max);
        } else if (reads !== undefined) chunks.push(chunk);
      });
      request.on('error', () => undefined);
      request.on('end', () => {
        if (refused) return;
        try {
          this.#answer(request, response, decision, Buffer.concat(chunks));
        } catch (error) {
          this.#internal(response, error);
        }
      });
    } catch (error) {
      this.#internal(response, error);
    }
  }

  #tooLarge(request: IncomingMessage, response: ServerResponse, bytes_max: number): void {
    const bound = bytes_max >= 1024 * 1024 ? `${bytes_max / (1024 * 1024)} MiB` : `${bytes_max / 1024} KiB`;
    this.#error(response, 413, 'too_large', `request body over ${bound} (${bytes_max} bytes)`, true);
    // Whatever else comes is not read: the connection ends with the answer.
    response.on('finish', () => request.destroy());
  }

  #internal(response: ServerResponse, error: unknown): void {
    this.#fault(error);
    if (!response.headersSent) this.#error(response, 500, 'internal', 'internal error (counted and logged)');
    else response.destroy();
  }

  #answer(
    request: IncomingMessage,
    response: ServerResponse,
    decision: Decision<RouteName>,
    body: Buffer,
  ): void {
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
      case 'change':
        this.#change(request, response, body);
        return;
      case 'config': {
        const changes = this.#changesOr501(response);
        if (changes === undefined) return;
        const { version, config } = changes.committed();
        const shown = redactConfig(config);
        const doc: ConfigDoc = { version, config: shown.config, redacted: shown.redacted };
        this.#json(response, 200, doc);
        return;
      }
      case 'reload': {
        const reload = this.#options.reload;
        if (reload === undefined) {
          this.#error(response, 501, 'not_implemented', 'this API server has no agent to reload');
          return;
        }
        reload().then(
          (outcome) => this.#json(response, 200, outcome),
          (error: unknown) => this.#internal(response, error),
        );
        return;
      }
      case 'config_history': {
        const changes = this.#changesOr501(response);
        if (changes === undefined) return;
        const recent = changes.history(decision.query.limit ?? HISTORY_LIMIT_DEFAULT);
        const doc: ConfigHistoryDoc = {
          version: recent.version,
          from: recent.from,
          changes: recent.changes.map(({ version, change }) => ({
            version,
            kind: change.kind,
            change: describeChange(change),
            detail: change,
          })),
        };
        this.#json(response, 200, doc);
        return;
      }
    }
  }

  /** The change service, or undefined after answering 501 (this agent takes no runtime changes). */
  #changesOr501(response: ServerResponse): ChangeService | undefined {
    const changes = this.#options.changes;
    if (changes === undefined)
      this.#error(
        response,
        501,
        'not_implemented',
        'this agent does not take runtime changes yet: its config replica is not wired to the API',
      );
    return changes;
  }

  /** POST /v1/changes: one change as JSON, checked, then submitted; its answer as HTTP (change-http.ts). */
  #change(request: IncomingMessage, response: ServerResponse, body: Buffer): void {
    const changes = this.#changesOr501(response);
    if (changes === undefined) return;
    const type = request.headers['content-type'];
    const media = type?.split(';')[0]?.trim().toLowerCase();
    if (type !== undefined && media !== 'application/json') {
      this.#error(
        response,
        415,
        'unsupported_media_type',
        `send the change as JSON (Content-Type: application/json), not ${shorten(type)}`,
      );
      return;
    }
    let value: unknown;
    try {
      if (body.length === 0) throw new SyntaxError('the body is empty');
      value = JSON.parse(body.toString('utf8'));
    } catch (error) {
      this.#error(
        response,
        400,
        'bad_json',
        `the body is not JSON (${shorten((error as Error).message)}): send one change, e.g. {"kind":"data_add","system":"vip","items":["10.0.0.9"],"base_version":0}`,
      );
      return;
    }
    const parsed = parseChange(value);
    if (!parsed.ok) {
      const count = parsed.issues.length;
      const body: ErrorDoc = {
        error: {
          status: 400,
          code: 'bad_change',
          message: `the body is not a change (${count} problem${count === 1 ? '' : 's'}): ${shorten(parsed.issues.map(issueText).join('; '))}`,
          issues: parsed.issues,
        },
      };
      this.#json(response, 400, body);
      return;
    }
    this.#submit(response, changes, parsed.change);
  }

  /** Waits for the service's answer, within change_wait_ms, and while the client is there. */
  #submit(response: ServerResponse, changes: ChangeService, change: ConfigChange): void {
    const wait_ms = this.#options.change_wait_ms ?? API_LIMITS.change_wait_ms;
    const stop = new AbortController();
    let done = false;
    const finish = (answer: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      response.off('close', gone);
      if (!response.destroyed && !response.writableEnded) answer();
    };
    const timer = setTimeout(() => {
      finish(() =>
        this.#error(
          response,
          504,
          'timeout',
          `the agent gave no answer within ${wait_ms} ms: the change may or may not commit; look at the config (flip config show) before retrying`,
        ),
      );
      stop.abort();
    }, wait_ms);
    const gone = () => {
      // The client left: nobody waits for the answer any more (the change may still commit).
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop.abort();
    };
    response.on('close', gone);
    let pending: Promise<ChangeAnswer>;
    try {
      pending = changes.submit(change, { signal: stop.signal });
    } catch (error) {
      finish(() => this.#internal(response, error));
      return;
    }
    Promise.resolve(pending).then(
      (answer) =>
        finish(() => {
          const http = changeHttp(change, answer);
          this.#json(response, http.status, http.body);
        }),
      (error) => {
        // A rejection is a fault even when nobody waits for the answer any more.
        if (done) this.#fault(error);
        else finish(() => this.#internal(response, error));
      },
    );
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

function issueText(issue: { path: string; message: string }): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

function shorten(text: string): string {
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

function wantsStream(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '')
    .split(',')
    .some((part) => part.trim().startsWith('text/event-stream'));
}
