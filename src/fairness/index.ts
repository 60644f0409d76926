// Fair sharing: each peer stores for another at most what that peer stores for it (× ratio, + a grace
// for newcomers), prefers balanced and reliable peers when placing, and shows the user the balances.
// const f = await createFairness({ settings: { enabled: true, ratio: 1, graceBytes: 2 ** 30 }, ledgerPath });
// const store = await DiskStore.open(dir, { offer, policy: f.policy }); f.attachStore(store);
// The incentive simulator (`p2pbackup sim incentives`) lives in ./sim/. Model and equations: docs/INCENTIVES.md.
export * from './constants.ts';
export { FairnessLedger, type Placement, type AuditRecord, type UptimeRecord, type Standing } from './ledger.ts';
export { createAdmissionPolicy, allowance, type FairnessSettings, type Allowance, type PolicyComponents } from './policy.ts';
export { rankForPlacement, tierOf, type RankInfo } from './rank.ts';
export { buildReport, type FairnessReport, type PeerBalance } from './report.ts';
export { spotCheck, type SpotCheckResult, type SpotCheckServer } from './spot-check.ts';
export { createFairness, type Fairness, type FairnessInit } from './service.ts';
