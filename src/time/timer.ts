/**
 * Timers that never overflow. Node's setTimeout takes a signed 32-bit delay: anything above
 * 2^31 - 1 ms (24.8 days), and anything that is not a finite number, fires after 1 ms with a
 * TimeoutOverflowWarning. A config bound keeps every configured time far below that, and this
 * clamp keeps a derived sum (a timeout plus a margin, a back-off) from ever wrapping round.
 * A timer clamped at the maximum fires early; every caller here then asks its pure core what is
 * due, finds nothing yet, and sets the next timer, so an early wake-up is harmless.
 */

/** The longest delay Node's timers accept, in ms. */
export const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

/** `delay_ms` made safe for setTimeout: a whole number from 0 to TIMER_DELAY_MS_MAX. */
export function timerDelay(delay_ms: number): number {
  if (Number.isNaN(delay_ms) || delay_ms <= 0) return 0;
  if (delay_ms >= TIMER_DELAY_MS_MAX) return TIMER_DELAY_MS_MAX;
  return Math.ceil(delay_ms);
}

/** setTimeout with the delay clamped by timerDelay. */
export function setTimer(callback: () => void, delay_ms: number): NodeJS.Timeout {
  return setTimeout(callback, timerDelay(delay_ms));
}
