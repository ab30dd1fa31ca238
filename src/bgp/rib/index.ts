/** Routing information bases: Adj-RIB-In, Loc-RIB with the decision process, Adj-RIB-Out. */
export { Rib } from './rib.js';
export type { IneligibleReason, PeerPolicies, PeerRemoval } from './rib.js';
export type { TableSteps } from './export.js';
export type { AdjRibOutResend } from './adj-rib-out.js';
export type { LocRibChange, PeerInfo, Route, RouteSource } from './types.js';
export { AttributeTable, attributeHash, attributesEqual } from './intern.js';
export {
  DEFAULT_LOCAL_PREF,
  asPathLength,
  compare,
  comparePaths,
  nextHopUsable,
  rank,
  selectBest,
  stepOfComparison,
} from './decision.js';
export type { Decision, DecisionContext, DecisionPath, DecisionPeer, DecisionStep } from './decision.js';
export { multipathSet, sameAsPath } from './multipath.js';
export type { MultipathOptions } from './multipath.js';
export { endOfRib, isEndOfRib } from './update-packer.js';
export { MAX_RECEIVED_PATHS } from './add-path-in.js';
export { MAX_MESSAGE_SIZE, updateSize } from './update-size.js';
