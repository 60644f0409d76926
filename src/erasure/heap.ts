// First-fit allocator of shard regions inside one kernel memory (the parallel codec's shared memory holds all
// its shard sets and convenience-call stripes). Addresses only; growing the memory is the caller's job.

export class RegionHeap {
  /** Free regions below `top`, sorted by start, never adjacent (coalesced). */
  readonly #free: { start: number; size: number }[] = [];
  #top: number;
  readonly #align: number;

  constructor(base: number, align: number) {
    this.#align = align;
    this.#top = Math.ceil(base / align) * align;
  }

  /** End of the highest allocated region: the memory must hold [0, top). */
  get top(): number {
    return this.#top;
  }

  alloc(bytes: number): number {
    const size = Math.ceil(Math.max(bytes, 1) / this.#align) * this.#align;
    for (let i = 0; i < this.#free.length; i++) {
      const f = this.#free[i];
      if (f.size < size) continue;
      const start = f.start;
      if (f.size === size) this.#free.splice(i, 1);
      else this.#free[i] = { start: f.start + size, size: f.size - size };
      return start;
    }
    const start = this.#top;
    this.#top += size;
    return start;
  }

  free(start: number, bytes: number): void {
    const size = Math.ceil(Math.max(bytes, 1) / this.#align) * this.#align;
    let i = 0;
    while (i < this.#free.length && this.#free[i].start < start) i++;
    this.#free.splice(i, 0, { start, size });
    // Coalesce with the next, then the previous neighbour; a free region touching top lowers top.
    if (i + 1 < this.#free.length && start + size === this.#free[i + 1].start) {
      this.#free[i].size += this.#free[i + 1].size;
      this.#free.splice(i + 1, 1);
    }
    if (i > 0 && this.#free[i - 1].start + this.#free[i - 1].size === start) {
      this.#free[i - 1].size += this.#free[i].size;
      this.#free.splice(i, 1);
      i--;
    }
    const last = this.#free[this.#free.length - 1];
    if (last && last.start + last.size === this.#top) {
      this.#top = last.start;
      this.#free.pop();
    }
  }
}
