/**
 * The n highest-scoring items of a stream, in O(log n) per item and O(n)
 * memory: a min-heap whose root is the weakest item kept, so the busiest
 * actors are found without sorting every actor (LiveDashboard's full sort
 * is what this avoids).
 */
export class TopHeap<T> {
  private readonly heap: { score: number; item: T }[] = [];

  constructor(private readonly n: number) {}

  offer(score: number, item: T): void {
    if (this.n <= 0) return;
    const heap = this.heap;
    if (heap.length < this.n) {
      heap.push({ score, item });
      this.up(heap.length - 1);
    } else if (score > heap[0].score) {
      heap[0] = { score, item };
      this.down(0);
    }
  }

  /** The kept items, highest score first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => b.score - a.score).map((e) => e.item);
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].score <= heap[i].score) return;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && heap[left].score < heap[least].score) least = left;
      if (right < heap.length && heap[right].score < heap[least].score) least = right;
      if (least === i) return;
      [heap[least], heap[i]] = [heap[i], heap[least]];
      i = least;
    }
  }
}
