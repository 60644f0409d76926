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
/** How often the daemon spot-checks what it placed on others (ms): LIST then READ one byte per sampled share. */
export const SPOT_CHECK_INTERVAL_MS = 10 * 60_000;
/** Placements sampled per peer and spot check (a deleted share is found with probability ≥ sampled / placed). */
export const SPOT_CHECK_SAMPLES = 8;
