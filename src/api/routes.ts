/**
 * The API's routes and the decision for each request: which route it is, whether its query is
 * good, and whether it may pass without the token. Pure: a request's method, URL and
 * Authorization header in, a route or an error out; the http adapter (server.ts) only carries
 * it out.
 *
 * Access: `open` routes (health, metrics: for load balancers and Prometheus) need no token;
 * `read` routes need it when the API listens beyond loopback (the status page's files are open:
 * they hold no data, and the page sends the token on its own reads); `change` routes always need it,
 * and are refused (403) when no token is configured. A missing or wrong token is 401.
 */

import { HISTORY_CHANGES_MAX } from '../replica/change-history.js';
import { type TokenHash, tokenMatches } from './auth.js';
import { PAGE_FILES } from './page.js';
import type { ApiErrorCode } from './types.js';

export type RouteName =
  | 'health'
  | 'status'
  | 'events'
  | 'metrics'
  | 'page'
  | 'change'
  | 'config'
  | 'config_history'
  | 'reload';
export type Access = 'open' | 'read' | 'change';

export interface Route<Name extends string = RouteName> {
  name: Name;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  access: Access;
  /** The query parameters it takes, each a whole number within a range. */
  query: Readonly<Record<string, { min: number; max: number }>>;
  /** The JSON body it reads, at most this many bytes; absent: it reads none (a body sent is discarded). */
  body?: { bytes_max: number };
}

/** Events returned by one GET /v1/events, at most (the ring holds about this many). */
export const EVENTS_LIMIT_MAX = 1000;

/**
 * The largest change request body. A change may be 8 MiB (CHANGE_BYTES_MAX, a whole config file),
 * but the API holds one body per connection (64 at once), so it takes 1 MiB: about 50,000 items of
 * a data_add, far more than one command line gives.
 */
export const CHANGE_REQUEST_BYTES_MAX = 1024 * 1024;

/** GET /v1/config/history: changes returned by default, and at most (what a replica keeps). */
export const HISTORY_LIMIT_DEFAULT = 20;
export const HISTORY_LIMIT_MAX = HISTORY_CHANGES_MAX;

export const ROUTES: readonly Route[] = [
  { name: 'health', method: 'GET', path: '/v1/health', access: 'open', query: {} },
  { name: 'status', method: 'GET', path: '/v1/status', access: 'read', query: {} },
  {
    name: 'events',
    method: 'GET',
    path: '/v1/events',
    access: 'read',
    query: {
      since: { min: 0, max: Number.MAX_SAFE_INTEGER },
      limit: { min: 1, max: EVENTS_LIMIT_MAX },
    },
  },
  { name: 'metrics', method: 'GET', path: '/metrics', access: 'open', query: {} },
  {
    name: 'change',
    method: 'POST',
    path: '/v1/changes',
    access: 'change',
    query: {},
    body: { bytes_max: CHANGE_REQUEST_BYTES_MAX },
  },
  { name: 'config', method: 'GET', path: '/v1/config', access: 'read', query: {} },
  { name: 'reload', method: 'POST', path: '/v1/reload', access: 'change', query: {} },
  {
    name: 'config_history',
    method: 'GET',
    path: '/v1/config/history',
    access: 'read',
    query: { limit: { min: 1, max: HISTORY_LIMIT_MAX } },
  },
  ...Object.keys(PAGE_FILES).map(
    (path): Route => ({ name: 'page', method: 'GET', path, access: 'open', query: {} }),
  ),
];

export interface AccessPolicy {
  /** The API listens on a loopback address only. */
  loopback: boolean;
  /** The configured token's hash; undefined: none configured. */
  token: TokenHash | undefined;
}

export interface RequestFacts {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  authorization: string | undefined;
}

export type Decision<Name extends string> =
  | { kind: 'route'; route: Route<Name>; query: Record<string, number> }
  | { kind: 'error'; status: number; code: ApiErrorCode; message: string; allow?: string };

export function decide<Name extends string>(
  request: RequestFacts,
  policy: AccessPolicy,
  routes: readonly Route<Name>[],
): Decision<Name> {
  let url: URL;
  try {
    url = new URL(request.url, 'http://flip.invalid');
  } catch {
    return {
      kind: 'error',
      status: 400,
      code: 'bad_query',
      message: 'the request target is not a valid URL',
    };
  }
  // A request target must be a path (or the absolute form of one); anything else is refused.
  if (!request.url.startsWith('/') && !/^https?:\/\//i.test(request.url))
    return { kind: 'error', status: 400, code: 'bad_query', message: 'the request target must be a path' };
  const onPath = routes.filter((route) => route.path === url.pathname);
  if (onPath.length === 0)
    return {
      kind: 'error',
      status: 404,
      code: 'not_found',
      message: `no such path: ${shorten(url.pathname)}`,
    };
  const route = onPath.find((candidate) => candidate.method === request.method);
  if (route === undefined) {
    const allow = onPath.map((candidate) => candidate.method).join(', ');
    return {
      kind: 'error',
      status: 405,
      code: 'method_not_allowed',
      message: `${shorten(request.method)} is not allowed on ${shorten(url.pathname)}; allowed: ${allow}`,
      allow,
    };
  }
  const denied = accessDenial(route.access, request.authorization, policy);
  if (denied !== undefined) return { kind: 'error', ...denied };
  const query: Record<string, number> = {};
  for (const [key, value] of url.searchParams) {
    const range = Object.hasOwn(route.query, key) ? route.query[key] : undefined;
    if (range === undefined) {
      const known = Object.keys(route.query);
      return {
        kind: 'error',
        status: 400,
        code: 'bad_query',
        message: `unknown query parameter ${JSON.stringify(shorten(key))}${known.length > 0 ? `; known: ${known.join(', ')}` : ''}`,
      };
    }
    if (Object.hasOwn(query, key))
      return {
        kind: 'error',
        status: 400,
        code: 'bad_query',
        message: `query parameter ${key} is given twice`,
      };
    const number = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < range.min || number > range.max)
      return {
        kind: 'error',
        status: 400,
        code: 'bad_query',
        message: `query parameter ${key} must be a whole number from ${range.min} to ${range.max}`,
      };
    query[key] = number;
  }
  return { kind: 'route', route, query };
}

/** Why a request may not use a route of `access`, or undefined when it may. */
export function accessProblem(
  access: Access,
  authorization: string | undefined,
  policy: AccessPolicy,
): string | undefined {
  return accessDenial(access, authorization, policy)?.message;
}

/**
 * The refusal of a request for a route of `access`, or undefined when it may pass: 401 when a
 * (right) token would let it pass, 403 when no token can (changes on an agent without one).
 */
export function accessDenial(
  access: Access,
  authorization: string | undefined,
  policy: AccessPolicy,
): { status: 401 | 403; code: 'unauthorized' | 'forbidden'; message: string } | undefined {
  if (access === 'open') return undefined;
  if (access === 'read' && policy.loopback) return undefined;
  const unauthorized = (message: string) => ({
    status: 401 as const,
    code: 'unauthorized' as const,
    message,
  });
  if (policy.token === undefined)
    return access === 'change'
      ? {
          status: 403,
          code: 'forbidden',
          message:
            'this agent has no api.token: changes through the API are off (set servers.<id>.api.token or token_file)',
        }
      : unauthorized('this agent has no api.token');
  if (authorization === undefined)
    return unauthorized('this needs the API token: send "Authorization: Bearer <token>"');
  return tokenMatches(authorization, policy.token) ? undefined : unauthorized('the token is wrong');
}

function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
