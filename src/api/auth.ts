/**
 * The API's bearer token: compared in constant time (both sides hashed first, so that neither
 * the length nor a common prefix of a guess shows in the time taken).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenHash = Buffer;

export function hashToken(token: string): TokenHash {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Whether `header` carries the token whose hash is `expected`. */
export function tokenMatches(header: string | undefined, expected: TokenHash | undefined): boolean {
  if (expected === undefined) return false;
  const token = bearerToken(header);
  if (token === undefined) return false;
  return timingSafeEqual(hashToken(token), expected);
}
