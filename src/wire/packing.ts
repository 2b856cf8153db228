/**
 * The protocol core's packing rules, measured with the real wire codec's sizes. It lives in wire/
 * so that the dependency runs one way: wire/ knows the membership messages, membership/ knows no
 * wire format (the core is given a Packing).
 */

import type { Packing } from '../membership/node.js';
import {
  BODY_BYTES_MAX,
  bodyBaseSize,
  bodyFixedSize,
  releasedItemSize,
  STATE_RECORD_BYTES,
  updateSize,
} from './body.js';
import { PACKET_OVERHEAD_BYTES } from './layout.js';

export const WIRE_PACKING: Packing = {
  bodyBytesMax: BODY_BYTES_MAX,
  updateSize,
  baseSize: bodyBaseSize,
  fixedSize: bodyFixedSize,
  stateRecordSize: STATE_RECORD_BYTES,
  releasedItemSize,
};

/** Bytes a packet adds around its body: header (with nonce) and authentication tag. */
export const PACKET_OVERHEAD = PACKET_OVERHEAD_BYTES;
