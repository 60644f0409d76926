// A counting semaphore: at most `n` tasks run at once, the rest wait in FIFO order. The wait queue is
// consumed by an index, not Array#shift: a restore queues every file of a tree at once (49k for
// /usr/share), and shifting an array that long on each finished task cost most of a second.
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  let waiting: (() => void)[] = [];
  let head = 0;
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await task();
    } finally {
      if (head < waiting.length) {
        const next = waiting[head++];
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        } // drained: let the array go
        next();
      } else {
        active--;
      }
    }
  };
}

/**
 * One limiter of `n` per key (READ requests to one peer, over all its clients). A key's limiter lives only while
 * a task of it runs or waits: in an open swarm peer ids come and go (one host can make any number), and a map
 * that kept every id's limiter would only grow.
 */
export function keyedLimiter(n: number): { run<T>(key: string, task: () => Promise<T>): Promise<T>; readonly size: number } {
  const gates = new Map<string, { run: ReturnType<typeof limiter>; users: number }>();
  return {
    async run(key, task) {
      let gate = gates.get(key);
      if (!gate) gates.set(key, (gate = { run: limiter(n), users: 0 }));
      gate.users++; // running or waiting
      try {
        return await gate.run(task);
      } finally {
        if (--gate.users === 0) gates.delete(key);
      }
    },
    get size() {
      return gates.size;
    }
  };
}
