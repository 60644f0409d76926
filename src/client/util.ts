// Bounding one network operation in time. The operation gets a signal that fires when the caller's does
// or after `ms`, so a LIST, renewal or audit that timed out stops (its stream is aborted, its dial
// cancelled) instead of running on after the caller gave up. The deadline aborts with a DOMException named
// 'TimeoutError' (AbortSignal.timeout), which is how a ShareServer wrapper tells a timeout from a cancel.
export function deadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** The signal fired because its deadline passed (not because the caller cancelled). */
export function timedOut(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
}
