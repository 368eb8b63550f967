/**
 * The reference device agent, portable part: verification core, settings
 * store, update flow. Nothing here imports node:* — a vendor can run it in
 * React Native or a browser with their own StateStore and ArtifactDownloader.
 * The Node wiring (state file, downloads on disk) is in ./node.js.
 */
export { DeviceAgent, type CheckResult, type DeviceAgentOptions } from './device-agent.js';
export { initialState, restoreState, StateError, STATE_FORMAT, type AgentState, type StateSeed } from './agent-state.js';
export { enrollDevice, EnrollmentError, type EnrollOptions } from './enroll.js';
export { createHttpTransport, type HttpTransportOptions } from './http-transport.js';
export type { LogVerdict, WitnessPolicy } from './log-client.js';
export type { OfferOutcome } from './offer-runner.js';
export * from './ports.js';
export { REJECT_CODES, reportErrorOf, type RejectCode, type RejectReason } from './reasons.js';
export { createMemoryStateStore } from './memory-state-store.js';
export { REPORT_BATCH, Reporter, type AgentReport, type ReportState } from './reporter.js';
export { SettingsStore, type SettingsMap } from './settings-store.js';
export { parseStatement, type StatementEnvelope } from './statement.js';
export { fetchPolicy, refreshTrust, walkRoots, type TrustRefresh, type TrustSnapshot } from './trust-client.js';
export { VerifyCache } from './verify-cache.js';
export { DEFAULT_CLOCK_SKEW_MS, offerIds, verifyOffer, type OfferContext, type VerifyResult } from './verify-offer.js';
