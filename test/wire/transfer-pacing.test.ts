/** Pacing of large replica transfers: sent again to a server only after a pause that grows with its size. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  TRANSFER_PAUSE_MS_MIN,
  TRANSFERS_REMEMBERED_MAX,
  TransferPacer,
  transferPauseMs,
} from '../../src/wire/transfer-pacing.js';

describe('TransferPacer', () => {
  it('a message of one packet always goes', () => {
    const pacer = new TransferPacer();
    for (let i = 0; i < 5; i++) assert.equal(pacer.send(i, 's2', 'd', 1), true);
    assert.equal(pacer.held_back, 0);
  });

  it('a transfer goes once per pause to each server; other servers and other transfers are not held', () => {
    const pacer = new TransferPacer();
    assert.equal(pacer.send(0, 's2', 'd1', 50), true);
    assert.equal(pacer.send(500, 's2', 'd1', 50), false, 'the next heartbeat: held back');
    assert.equal(pacer.send(500, 's3', 'd1', 50), true, 'another server');
    assert.equal(pacer.send(500, 's2', 'd2', 50), true, 'another transfer');
    assert.equal(pacer.send(TRANSFER_PAUSE_MS_MIN - 1, 's2', 'd1', 50), false);
    assert.equal(pacer.send(TRANSFER_PAUSE_MS_MIN, 's2', 'd1', 50), true, 'after the pause');
    assert.equal(pacer.held_back, 2);
  });

  it('the pause grows with the transfer: a 12,000-chunk snapshot waits 12 s', () => {
    assert.equal(transferPauseMs(2), TRANSFER_PAUSE_MS_MIN);
    assert.equal(transferPauseMs(12_000), 12_000);
    const pacer = new TransferPacer();
    assert.equal(pacer.send(0, 's2', 'big', 12_000), true);
    assert.equal(pacer.send(11_999, 's2', 'big', 12_000), false);
    assert.equal(pacer.send(12_000, 's2', 'big', 12_000), true);
  });

  it('remembers a bounded number of transfers: the oldest is forgotten (and may go again)', () => {
    const pacer = new TransferPacer();
    for (let i = 0; i <= TRANSFERS_REMEMBERED_MAX; i++) assert.equal(pacer.send(0, 's2', `d${i}`, 2), true);
    assert.equal(pacer.send(1, 's2', 'd0', 2), true, 'forgotten');
    assert.equal(pacer.send(1, 's2', `d${TRANSFERS_REMEMBERED_MAX}`, 2), false, 'remembered');
  });
});
