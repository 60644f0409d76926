// Minimal typing of the WebAssembly global: the project's tsconfig has no DOM lib and @types/node does not
// declare it, so we describe just what we use instead of changing shared compiler settings.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmMemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}
export interface WasmApi {
  Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, unknown>) => WasmInstance;
}
export const Wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
