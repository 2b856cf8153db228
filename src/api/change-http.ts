/**
 * A change's answer (replica/answer.ts) as an HTTP status and JSON body, for POST /v1/changes.
 * Pure. The statuses, and why each:
 *
 * | answer | status | why |
 * | --- | --- | --- |
 * | committed, no_op | 200 | a majority stored it; the body names the version that holds it |
 * | invalid | 422 | well-formed, but it does not fit the committed config (the config's messages) |
 * | conflict | 409 | it touches what a change made at the same time touches: look again, retry |
 * | no_quorum | 503 | no leader with a majority: nothing changed, retry later |
 * | unknown_server | 421 | Misdirected Request: this server is not one of the cluster's; ask another |
 * | timeout | 504 | no answer in time: the change may or may not commit; look at the config |
 *
 * 421 rather than a second 503 for unknown_server: the same request sent to another server
 * can succeed at once, while a 503 says to wait. The `code` tells them apart in any case.
 */
import { type ConfigChange, describeChange } from '../changes/index.js';
import type { ChangeAnswer } from '../replica/answer.js';
import type { ApiErrorCode, ChangeResultDoc, ErrorDoc } from './types.js';

export type ChangeHttp =
  | { status: 200; body: ChangeResultDoc }
  | { status: 409 | 421 | 422 | 503 | 504; body: ErrorDoc };

export function changeHttp(change: ConfigChange, answer: ChangeAnswer): ChangeHttp {
  const described = describeChange(change);
  const error = (
    status: 409 | 421 | 422 | 503 | 504,
    code: ApiErrorCode,
    message: string,
    issues?: ErrorDoc['error']['issues'],
  ): ChangeHttp => ({
    status,
    body: { error: { status, code, message, ...(issues === undefined ? {} : { issues }) } },
  });
  switch (answer.kind) {
    case 'committed':
      return {
        status: 200,
        body: { outcome: 'committed', version: answer.version, kind: change.kind, change: described },
      };
    case 'no_op':
      return {
        status: 200,
        body: {
          outcome: 'no_op',
          version: answer.version,
          kind: change.kind,
          change: described,
          reason: answer.reason,
        },
      };
    case 'invalid': {
      const count = answer.issues.length;
      return error(
        422,
        'invalid_change',
        `the change does not fit the committed config (${count} problem${count === 1 ? '' : 's'}); nothing changed`,
        answer.issues,
      );
    }
    case 'conflict':
      return error(409, 'conflict', answer.message);
    case 'no_quorum':
      return error(503, 'no_quorum', answer.message);
    case 'unknown_server':
      return error(421, 'unknown_server', answer.message);
    case 'timeout':
      return error(504, 'timeout', answer.message);
  }
}
