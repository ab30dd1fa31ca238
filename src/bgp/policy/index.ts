/** Import and export policy: pure functions over paths and peers. */
export { canonicalAddress, importAttributes, importPrefix, importPrefixWords, importRoute, isMartian, isMartianWords } from './import.js';
export type { ImportContext, ImportRejectReason, ImportVerdict } from './import.js';
export {
  NO_ADVERTISE,
  NO_EXPORT,
  NO_EXPORT_SUBCONFED,
  afiOf,
  exportAttributes,
  exportEncoding,
  exportFilter,
  exportRoute,
  negotiated,
  prependAsn,
} from './export.js';
export type { ExportContext, ExportEncoding, ExportRejectReason, ExportedRoute } from './export.js';
export { localRoleOf, otcEgress, otcEgressBlocked, otcIngress } from './roles.js';
export type { RolePeerInfo } from './roles.js';
