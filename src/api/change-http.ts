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
 * | unknown_server | 503 | this server is not one of the cluster's: ask another (code `unknown_server`) |
 * | timeout | 504 | no answer in time: the change may or may not commit; look at the config |
 *
 * unknown_server shares 503 with no_quorum; the `code` tells them apart. 421 (Misdirected
 * Request) would say "ask another server" better, but clients resend a request answered 421 on
 * their own (Node's fetch does, measured: one POST reached the server twice), and a change must
 * never be sent twice behind the caller's back.
 */
import { type ConfigChange, describeChange } from '../changes/index.js';
import type { ChangeAnswer } from '../replica/answer.js';
import type { ApiErrorCode, ChangeResultDoc, ErrorDoc } from './types.js';

export type ChangeHttp =
  | { status: 200; body: ChangeResultDoc }
  | { status: 409 | 422 | 503 | 504; body: ErrorDoc };

export function changeHttp(change: ConfigChange, answer: ChangeAnswer): ChangeHttp {
  const described = describeChange(change);
  const error = (
    status: 409 | 422 | 503 | 504,
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
      return error(503, 'unknown_server', answer.message);
    case 'timeout':
      return error(504, 'timeout', answer.message);
  }
}
