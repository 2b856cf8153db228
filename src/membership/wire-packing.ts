/** The protocol core's packing rules, measured with the real wire codec's sizes. */
import {
  BODY_BYTES_MAX,
  bodyBaseSize,
  releasedItemSize,
  STATE_RECORD_BYTES,
  updateSize,
} from '../wire/body.js';
import { PACKET_OVERHEAD_BYTES } from '../wire/layout.js';
import type { Packing } from './node.js';

export const WIRE_PACKING: Packing = {
  bodyBytesMax: BODY_BYTES_MAX,
  updateSize,
  baseSize: bodyBaseSize,
  stateRecordSize: STATE_RECORD_BYTES,
  releasedItemSize,
};

/** Bytes a packet adds around its body: header (with nonce) and authentication tag. */
export const PACKET_OVERHEAD = PACKET_OVERHEAD_BYTES;
