// Defaults and limits of the fairness layer (docs/INCENTIVES.md §"In the network").

/** Default ratio: I store for you at most 1.0 × what you store for me (the symmetric scheme of Toka & Maillé). */
export const DEFAULT_RATIO = 1.0;
/**
 * Default grace: 1 GiB per remote peer (bytes). A new swarm starts with every balance at zero, so
 * someone must store first: with 3-of-5 encoding (1.67x) and five storage peers, 1 GiB each lets a
 * newcomer back up about 3 GiB before reciprocity is needed, which covers a first backup of documents
 * while the newcomer's own offer fills up with others' shares. It bounds a free rider's take at a tenth
 * of the default offer (10 GiB) per storage peer.
 */
export const DEFAULT_GRACE_BYTES = 2 ** 30;
/** Largest accepted ratio: beyond this the policy is practically off (use enabled: false instead). */
export const MAX_RATIO = 1000;
/** How often the daemon spot-checks what it placed on others (ms): a proof (trailer + challenged block) per sampled share. */
export const SPOT_CHECK_INTERVAL_MS = 10 * 60_000;
/** Placements sampled per peer and spot check (a deleted share is found with probability ≥ sampled / placed). */
export const SPOT_CHECK_SAMPLES = 8;
/**
 * Standing rests on a failure score, not on the latest audit: each failed audit adds 1, each passed one takes
 * PASS_CREDIT back, and the score halves every FAILURE_HALF_LIFE_MS. A peer is in failed standing while its
 * score is at least FAILED_STANDING_SCORE. So one failure puts a peer in failed standing, and it takes six
 * passed audits of other shares (or a week) to leave it; a peer keeping less than about 90% of what it was given
 * (1 failure per 0.1 credit earned) never leaves it, however many easy passes it collects in between.
 */
export const PASS_CREDIT = 0.1;
export const FAILED_STANDING_SCORE = 0.5;
export const FAILURE_HALF_LIFE_MS = 7 * 24 * 3_600_000;
