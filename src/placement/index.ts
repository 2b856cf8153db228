export { movedItems } from './moves.js';
export { heldBy, type Placement, type PlacementInput, place, placeAll } from './placement.js';
export { rendezvousOwner } from './rendezvous.js';
