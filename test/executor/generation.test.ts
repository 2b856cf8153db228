import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCurrent } from '../../src/executor/generation.js';
import type { ActionKind, ScriptEvent } from '../../src/executor/types.js';

describe('executor: generations', () => {
  it('a run or waiting action counts only for the target and plan it was made for; a drain always', () => {
    const table: [ScriptEvent, number, ActionKind, ScriptEvent | undefined, number, boolean][] = [
      // made for: event, plan, kind | newest: target, plan | current
      ['alive', 3, 'plan', 'alive', 3, true],
      ['alive', 3, 'retry', 'alive', 3, true],
      ['alive', 3, 'announce', 'alive', 3, true],
      ['alive', 3, 'handback', 'alive', 3, true],
      ['down', 3, 'retry', 'down', 3, true],
      ['alive', 3, 'announce', 'down', 3, false], // the plan's alive was skipped
      ['alive', 3, 'retry', 'down', 4, false], // a newer plan retargeted the item
      ['down', 2, 'retry', 'down', 4, false], // same event, older plan
      ['alive', 3, 'plan', undefined, 0, false],
      ['down', 2, 'drain', 'alive', 5, true],
      ['down', 0, 'drain', undefined, 0, true],
    ];
    for (const [event, plan, kind, target, newest, current] of table)
      assert.equal(
        isCurrent({ event, plan, kind }, { target, plan: newest }),
        current,
        `${kind} ${event} of plan ${plan} against ${target} of plan ${newest}`,
      );
  });
});
