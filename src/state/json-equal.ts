/** Whether two parsed JSON values are the same document, whatever the order of their keys. */

/**
 * True when `a` and `b` hold the same JSON: equal scalars, lists of the same values in the same
 * order, objects of the same keys (in any order) with the same values. Walks with a stack of
 * its own, so a deeply nested document cannot overflow the call stack.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [left, right] = pair;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null)
      return false;
    if (Array.isArray(left) !== Array.isArray(right)) return false;
    if (Array.isArray(left) && Array.isArray(right)) {
      if (left.length !== right.length) return false;
      for (let i = 0; i < left.length; i++) pending.push([left[i], right[i]]);
      continue;
    }
    const left_keys = Object.keys(left);
    if (left_keys.length !== Object.keys(right).length) return false;
    for (const key of left_keys) {
      if (!Object.hasOwn(right, key)) return false;
      pending.push([(left as Record<string, unknown>)[key], (right as Record<string, unknown>)[key]]);
    }
  }
  return true;
}
