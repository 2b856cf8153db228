export { handedBack } from './handback.js';
export { heldBy, type Placement, type PlacementInput, place, placeAll } from './placement.js';
