import type { MembershipDriverEvents } from '../../src/agent/membership-driver.js';

/** Driver events that do nothing, with `overrides` for those a test listens to. */
export function driverEvents(overrides: Partial<MembershipDriverEvents> = {}): MembershipDriverEvents {
  return {
    onRefuted: () => {},
    onChanges: () => {},
    onSynced: () => {},
    onDrop: () => {},
    onReleased: () => {},
    onReleasedAck: () => {},
    onClaim: () => {},
    onClaimReply: () => {},
    onBootAdvanced: () => {},
    onLease: () => {},
    onDuplicate: () => {},
    ...overrides,
  };
}
