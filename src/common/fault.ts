// Fault injection for crash tests: when P2PBACKUP_FAULT names a point the process reaches, it kills
// itself with SIGKILL right there, exactly as a power cut would. Unset in normal runs: a no-op.
export function faultPoint(name: string): void {
  if (process.env.P2PBACKUP_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
