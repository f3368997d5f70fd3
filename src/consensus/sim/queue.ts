// The event queue of a simulation: a binary min-heap ordered by virtual time, then by insertion sequence, so that
// events due at the same instant run in the order they were scheduled (deterministic, whatever the heap layout).

export interface Timed {
  /** Virtual time in ms. */
  t: number;
  /** Insertion sequence, set by push(). */
  seq: number;
}

function before(a: Timed, b: Timed): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

export class EventQueue<E extends Timed> {
  #heap: E[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(e: E): void {
    e.seq = this.#seq++;
    const heap = this.#heap;
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!before(e, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  }

  pop(): E | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r], heap[l]) ? r : l;
        if (!before(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
