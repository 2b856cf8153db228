/**
 * A client of one agent's API, for the CLI and the tests: JSON GETs with a timeout and the
 * bearer token, and the event stream. Every failure is an ApiClientError with one line to show.
 */

import { SseParser } from './sse.js';
import type { ErrorDoc, EventDoc } from './types.js';

export class ApiClientError extends Error {
  override name = 'ApiClientError';
  constructor(
    message: string,
    /** The HTTP status, when the API answered. */
    readonly status?: number,
    /** The request was sent and no answer came in time: a change may or may not have been made. */
    readonly timed_out = false,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  base: string;
  token?: string;
  timeout_ms?: number;
}

export class ApiClient {
  readonly base: string;
  readonly #token: string | undefined;
  readonly #timeout_ms: number;

  constructor(options: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.base);
    } catch {
      throw new ApiClientError(
        `--api ${JSON.stringify(options.base)} is not a URL (e.g. http://127.0.0.1:2200)`,
      );
    }
    if (url.protocol !== 'http:')
      throw new ApiClientError(`--api must be an http:// URL, not ${url.protocol}`);
    this.base = url.origin;
    this.#token = options.token;
    this.#timeout_ms = options.timeout_ms ?? 5_000;
  }

  #headers(accept: string): Record<string, string> {
    return {
      Accept: accept,
      ...(this.#token === undefined ? {} : { Authorization: `Bearer ${this.#token}` }),
    };
  }

  /** GETs `path`; `accept` lists statuses whose JSON body is returned (others throw). */
  async getJson<T>(path: string, accept: readonly number[] = [200]): Promise<{ status: number; body: T }> {
    let response: Response;
    try {
      response = await fetchAgain(`${this.base}${path}`, {
        headers: this.#headers('application/json'),
        signal: AbortSignal.timeout(this.#timeout_ms),
      });
    } catch (error) {
      throw new ApiClientError(`cannot reach the flip API at ${this.base}: ${reason(error)}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new ApiClientError(
        `the API at ${this.base} answered ${response.status} without JSON: is it flip?`,
        response.status,
      );
    }
    if (!accept.includes(response.status)) {
      const message = (body as Partial<ErrorDoc>)?.error?.message ?? `HTTP ${response.status}`;
      const hint = response.status === 401 ? ' (pass --token or set FLIP_TOKEN)' : '';
      throw new ApiClientError(`the API at ${this.base} refused ${path}: ${message}${hint}`, response.status);
    }
    return { status: response.status, body: body as T };
  }

  /**
   * Sends a request with an optional JSON body and returns the status and the JSON body, whatever
   * the status (a refusal's ErrorDoc included). Throws ApiClientError when the API cannot be
   * reached, gives no answer within `timeout_ms` (`timed_out`), or answers without JSON. A POST is
   * never sent twice: it may change state.
   */
  async request<T = unknown>(
    path: string,
    options: { method?: 'GET' | 'POST'; body?: unknown; timeout_ms?: number } = {},
  ): Promise<{ status: number; body: T }> {
    const method = options.method ?? 'GET';
    const headers: Record<string, string> = this.#headers('application/json');
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    let body: unknown;
    try {
      response = await fetchAgain(`${this.base}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeout_ms ?? this.#timeout_ms),
      });
    } catch (error) {
      const timed_out = (error as Error)?.name === 'TimeoutError';
      throw new ApiClientError(
        timed_out
          ? `the flip API at ${this.base} gave no answer to ${method} ${path} in time`
          : `cannot reach the flip API at ${this.base}: ${reason(error)}`,
        undefined,
        timed_out && method !== 'GET',
      );
    }
    try {
      body = await response.json();
    } catch {
      throw new ApiClientError(
        `the API at ${this.base} answered ${response.status} without JSON: is it flip?`,
        response.status,
      );
    }
    return { status: response.status, body: body as T };
  }

  /** Follows the event stream, calling `onEvent` for each, until `signal` aborts or the stream ends. */
  async follow(onEvent: (event: EventDoc) => void, signal?: AbortSignal, since?: number): Promise<void> {
    let response: Response;
    const get = () =>
      fetch(`${this.base}/v1/events${since === undefined ? '' : `?since=${since}`}`, {
        headers: this.#headers('text/event-stream'),
        signal,
      });
    try {
      response = await get().catch((error) => {
        if (!staleConnection(error) || signal?.aborted) throw error;
        return get();
      });
    } catch (error) {
      if (signal?.aborted) return;
      throw new ApiClientError(`cannot reach the flip API at ${this.base}: ${reason(error)}`);
    }
    if (response.status !== 200 || response.body === null) {
      const text = await response.text().catch(() => '');
      let message = `HTTP ${response.status}`;
      try {
        message = (JSON.parse(text) as ErrorDoc).error.message;
      } catch {
        // Not a flip error body: the status says enough.
      }
      throw new ApiClientError(
        `the API at ${this.base} refused the event stream: ${message}`,
        response.status,
      );
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          try {
            onEvent(JSON.parse(message.data) as EventDoc);
          } catch (error) {
            if (error instanceof SyntaxError) continue;
            throw error;
          }
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw new ApiClientError(`the event stream from ${this.base} broke: ${reason(error)}`);
    }
  }
}

/** The error of a request sent on a kept-alive connection that the server had closed. */
/**
 * fetch, sent once more when a GET or HEAD met a kept-alive connection that the server had closed
 * meanwhile (its keep-alive timeout and the client's reuse race, more often on a loaded host).
 */
export function fetchAgain(url: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  return fetch(url, init).catch((error) => {
    if ((method !== 'GET' && method !== 'HEAD') || !staleConnection(error)) throw error;
    return fetch(url, init);
  });
}

function staleConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code !== undefined) return cause.code;
  if ((error as Error)?.name === 'TimeoutError') return 'no answer in time';
  return cause?.message ?? (error as Error)?.message ?? String(error);
}
