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
