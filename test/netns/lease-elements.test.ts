/**
 * Reading the nftables fence from `nft list ruleset` (src/testing/netns/lease-elements.ts), which
 * the netns tests' holder monitor uses to tell a host that answers for a VIP from one that only
 * still has its address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nftDurationMs, parseFence } from '../../src/testing/netns/lease-elements.js';

const RULESET = `table inet flip_cut {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t}
}
table inet flip {
\tset vips4 {
\t\ttype ipv4_addr
\t\telements = { 10.77.0.100, 10.77.0.101 }
\t}

\tset leased4 {
\t\ttype ipv4_addr
\t\tflags timeout
\t\telements = { 10.77.0.100 timeout 900ms expires 412ms,
\t\t\t     10.77.0.101 timeout 1s expires 1s }
\t}

\tset vips6 {
\t\ttype ipv6_addr
\t}

\tset leased6 {
\t\ttype ipv6_addr
\t\tflags timeout
\t\telements = { fd77::0100 timeout 900ms expires 4ms }
\t}
}
table netdev flip {
\tset leased4 {
\t\ttype ipv4_addr
\t\tflags timeout
\t\telements = { 10.77.0.102 timeout 900ms expires 800ms }
\t}
}
`;

describe('the nftables fence as nft lists it', () => {
  it('reads nft durations', () => {
    assert.equal(nftDurationMs('900ms'), 900);
    assert.equal(nftDurationMs('1s'), 1000);
    assert.equal(nftDurationMs('1s4ms'), 1004);
    assert.equal(nftDurationMs('2m3s'), 123_000);
    assert.equal(nftDurationMs('1h'), 3_600_000);
    assert.equal(nftDurationMs(''), undefined);
    assert.equal(nftDurationMs('soon'), undefined);
  });

  it("finds table inet flip's leased elements, in canonical spelling, over wrapped lines", () => {
    const fence = parseFence(RULESET);
    assert.equal(fence.fenced, true);
    assert.deepEqual(
      [...fence.elements].sort(([a], [b]) => a.localeCompare(b)),
      [
        ['10.77.0.100', { timeout_ms: 900, expires_ms: 412 }],
        ['10.77.0.101', { timeout_ms: 1000, expires_ms: 1000 }],
        ['fd77::100', { timeout_ms: 900, expires_ms: 4 }],
      ],
    );
  });

  it('a host without the table is not fenced', () => {
    assert.deepEqual(parseFence('table inet flip_cut {\n}\n'), { fenced: false, elements: new Map() });
    assert.equal(parseFence('').fenced, false);
  });
});
