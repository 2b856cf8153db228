/**
 * The keys that seal packets, derived from the configured secret strings.
 *
 * Each secret yields two independent values with HKDF-SHA256: a 32-byte AES-256-GCM key, and
 * a 4-byte key id sent in the clear so a receiver picks the right key without trial
 * decryption. The id reveals nothing about the key (it is a separate HKDF output) except
 * that two packets were sealed with the same one.
 *
 * The configured list supports rotation without downtime: the first key seals, every key
 * opens. Add the new key second everywhere, then move it first everywhere, then drop the old.
 *
 * HKDF is not a password hash: the secrets must be long random strings, not words.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { KEY_ID_BYTES } from './layout.js';

/**
 * Fixed strings that tie the derived keys to flip's wire format, so no other use of the same
 * secret yields the same keys. They name version 1, where they were introduced; version 2 kept
 * them (the version byte is authenticated, so packets of one version never open as the other),
 * and changing them would change every key id.
 */
const KDF_SALT = 'flip wire v1 salt';
const KDF_INFO_CIPHER = 'flip wire v1 aes-256-gcm key';
const KDF_INFO_KEY_ID = 'flip wire v1 key id';
const KDF_DIGEST = 'sha256';
const CIPHER_KEY_BYTES = 32;

export interface WireKey {
  /** The key id as a u32, as it appears big-endian in the packet header. */
  id: number;
  /** The AES-256-GCM key. */
  cipherKey: KeyObject;
}

/** Derives the AES key and key id of one configured secret. */
export function deriveWireKey(secret: string): WireKey {
  if (secret.length === 0) throw new RangeError('wire: a key must not be empty');
  const cipherKey = hkdfSync(KDF_DIGEST, secret, KDF_SALT, KDF_INFO_CIPHER, CIPHER_KEY_BYTES);
  const id = hkdfSync(KDF_DIGEST, secret, KDF_SALT, KDF_INFO_KEY_ID, KEY_ID_BYTES);
  return {
    id: new DataView(id).getUint32(0),
    cipherKey: createSecretKey(new Uint8Array(cipherKey)),
  };
}

/** The configured keys: one to seal with, all to open with, looked up by key id. */
export class KeyRing {
  /** The key that seals: the first configured. */
  readonly sealing: WireKey;
  readonly #byId = new Map<number, WireKey[]>();

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new RangeError('wire: at least one key is required');
    const seen = new Set<string>();
    const keys: WireKey[] = [];
    for (const secret of secrets) {
      if (seen.has(secret)) continue;
      seen.add(secret);
      const key = deriveWireKey(secret);
      keys.push(key);
      // Two different secrets share an id with probability 2^-32; both are kept and tried.
      const sameId = this.#byId.get(key.id);
      if (sameId === undefined) this.#byId.set(key.id, [key]);
      else sameId.push(key);
    }
    this.sealing = keys[0]!;
  }

  /** The keys that may have sealed a packet carrying this key id (usually one, or none). */
  candidates(id: number): readonly WireKey[] {
    return this.#byId.get(id) ?? [];
  }
}
