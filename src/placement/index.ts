export { heldBy, type Placement, type PlacementInput, place, placeAll } from './placement.js';
