// Which store a peer keeps, chosen by its configuration (`store: { kind }` in config.json, validated
// by peer/config.ts): "disk" (default; DiskStore in HOME/store) or "memory" (MemoryStore: nothing
// survives a restart; for tests and throwaway peers).
import { DiskStore } from './disk-store.ts';
import { MemoryStore } from './memory-store.ts';
import type { AccountingInit } from './accounting.ts';
import type { LocalStore } from './types.ts';

export const STORE_KINDS = ['disk', 'memory'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];
export interface StoreChoice {
  kind: StoreKind;
}

/** Open the store `choice` names; `dir` is where a disk store lives (a memory store ignores it). */
export async function openStore(choice: StoreChoice, dir: string, opts: AccountingInit): Promise<LocalStore> {
  switch (choice.kind) {
    case 'disk':
      return DiskStore.open(dir, opts);
    case 'memory':
      return new MemoryStore(opts);
  }
}
