import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, hashToken, tokenMatches } from '../../src/api/auth.js';
import { type AccessPolicy, accessProblem, decide, ROUTES, type Route } from '../../src/api/routes.js';

const LOOPBACK_OPEN: AccessPolicy = { loopback: true, token: undefined };
const LOOPBACK_TOKEN: AccessPolicy = { loopback: true, token: hashToken('s3cret') };
const WIDE_TOKEN: AccessPolicy = { loopback: false, token: hashToken('s3cret') };

/** The real table plus a route that changes state, as the runtime-change work will add. */
const WITH_CHANGE: readonly Route<string>[] = [
  ...ROUTES,
  { name: 'drain', method: 'POST', path: '/v1/drain', access: 'change', query: {} },
];

function get(url: string, authorization?: string, method = 'GET') {
  return { method, url, authorization };
}

describe('api routes: which route, which query, which access', () => {
  it('finds each route and parses its query', () => {
    for (const [url, name] of [
      ['/v1/health', 'health'],
      ['/v1/status', 'status'],
      ['/v1/events', 'events'],
      ['/metrics', 'metrics'],
    ] as const) {
      const decision = decide(get(url), LOOPBACK_OPEN, ROUTES);
      assert.equal(decision.kind, 'route', url);
      assert.equal(decision.kind === 'route' && decision.route.name, name);
    }
    const events = decide(get('/v1/events?since=12&limit=5'), LOOPBACK_OPEN, ROUTES);
    assert.deepEqual(events.kind === 'route' && events.query, { since: 12, limit: 5 });
  });

  it('unknown path 404, wrong method 405 with Allow, bad query 400, each with a message', () => {
    const notFound = decide(get('/v2/status'), LOOPBACK_OPEN, ROUTES);
    assert.deepEqual(notFound.kind === 'error' && [notFound.status, notFound.code], [404, 'not_found']);
    // The status page is open (it holds no data); a query it does not take is refused.
    const page = decide(get('/'), { loopback: false, token: undefined }, ROUTES);
    assert.equal(page.kind === 'route' && page.route.name, 'page');
    assert.equal(decide(get('/?x=1'), LOOPBACK_OPEN, ROUTES).kind, 'error');
    const wrong = decide(get('/v1/status', undefined, 'DELETE'), LOOPBACK_OPEN, ROUTES);
    assert.ok(wrong.kind === 'error');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.allow, 'GET');
    for (const query of [
      'since=-1',
      'since=abc',
      'since=1.5',
      'limit=0',
      'limit=1001',
      'since=1&since=2',
      'x=1',
      'since=99999999999999999',
    ]) {
      const bad = decide(get(`/v1/events?${query}`), LOOPBACK_OPEN, ROUTES);
      assert.ok(bad.kind === 'error', query);
      assert.equal(bad.status, 400, query);
      assert.equal(bad.code, 'bad_query', query);
    }
    const noQuery = decide(get('/v1/status?verbose=1'), LOOPBACK_OPEN, ROUTES);
    assert.ok(noQuery.kind === 'error' && noQuery.status === 400);
    const badTarget = decide(get('*'), LOOPBACK_OPEN, ROUTES);
    assert.ok(badTarget.kind === 'error' && badTarget.status === 400);
  });

  it('reads are open on loopback; beyond loopback they need the token, health and metrics never', () => {
    assert.equal(decide(get('/v1/status'), LOOPBACK_OPEN, ROUTES).kind, 'route');
    assert.equal(decide(get('/v1/status'), LOOPBACK_TOKEN, ROUTES).kind, 'route');
    const denied = decide(get('/v1/status'), WIDE_TOKEN, ROUTES);
    assert.ok(denied.kind === 'error');
    assert.equal(denied.status, 401);
    assert.equal(decide(get('/v1/status', 'Bearer s3cret'), WIDE_TOKEN, ROUTES).kind, 'route');
    assert.equal(decide(get('/v1/events', 'Bearer wrong'), WIDE_TOKEN, ROUTES).kind, 'error');
    assert.equal(decide(get('/v1/health'), WIDE_TOKEN, ROUTES).kind, 'route');
    assert.equal(decide(get('/metrics'), WIDE_TOKEN, ROUTES).kind, 'route');
  });

  it('a route that changes state always needs the token, and is refused when none is configured', () => {
    const post = (authorization?: string) => get('/v1/drain', authorization, 'POST');
    const none = decide(post('Bearer anything'), LOOPBACK_OPEN, WITH_CHANGE);
    // 403, not 401: no token can pass where none is configured.
    assert.ok(none.kind === 'error' && none.status === 403 && none.code === 'forbidden');
    assert.match(none.message, /no api\.token/);
    const missing = decide(post(), LOOPBACK_TOKEN, WITH_CHANGE);
    assert.ok(missing.kind === 'error' && missing.status === 401);
    assert.match(missing.message, /Authorization: Bearer/);
    assert.ok(decide(post('Bearer s3cre'), LOOPBACK_TOKEN, WITH_CHANGE).kind === 'error');
    assert.ok(decide(post('Basic s3cret'), LOOPBACK_TOKEN, WITH_CHANGE).kind === 'error');
    const allowed = decide(post('Bearer s3cret'), LOOPBACK_TOKEN, WITH_CHANGE);
    assert.ok(allowed.kind === 'route' && allowed.route.name === 'drain');
    // GET on the change route is a 405, not a way around the token.
    const getOnChange = decide(get('/v1/drain'), LOOPBACK_TOKEN, WITH_CHANGE);
    assert.ok(getOnChange.kind === 'error' && getOnChange.status === 405);
  });

  it('access decisions form a table', () => {
    const table: [Parameters<typeof accessProblem>[0], string | undefined, AccessPolicy, boolean][] = [
      ['open', undefined, WIDE_TOKEN, true],
      ['read', undefined, LOOPBACK_OPEN, true],
      ['read', undefined, WIDE_TOKEN, false],
      ['read', 'Bearer s3cret', WIDE_TOKEN, true],
      ['change', undefined, LOOPBACK_OPEN, false],
      ['change', 'Bearer s3cret', LOOPBACK_OPEN, false],
      ['change', 'Bearer s3cret', WIDE_TOKEN, true],
      ['change', 'bearer   s3cret', WIDE_TOKEN, true],
    ];
    for (const [access, header, policy, allowed] of table)
      assert.equal(accessProblem(access, header, policy) === undefined, allowed, `${access} ${header}`);
  });

  it('token parsing and comparison', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(tokenMatches('Bearer abc', hashToken('abc')), true);
    assert.equal(tokenMatches('Bearer abcd', hashToken('abc')), false);
    assert.equal(tokenMatches('Bearer abc', undefined), false);
    assert.equal(tokenMatches(undefined, hashToken('abc')), false);
  });
});
