// Simulated time: one clock in CPU cycles and the timers devices arm on it (DESIGN.md "Time").
// Nothing here reads the wall clock; the CPU advances `now` and fires due timers between instruction runs.

/** A timer a device creates once at build time and re-arms as often as it likes (no allocation per event). */
export class Timer {
  /** Absolute cycle at which it fires, or -1 when not armed. */
  deadline = -1;
  heapIndex = -1;
  constructor(
    readonly name: string,
    readonly callback: (now: number) => void,
    private readonly scheduler: Scheduler,
  ) {}

  armAt(cycle: number): void {
    this.scheduler.arm(this, cycle);
  }

  armIn(cycles: number): void {
    this.scheduler.arm(this, this.scheduler.now + cycles);
  }

  cancel(): void {
    this.scheduler.cancel(this);
  }

  get armed(): boolean {
    return this.deadline >= 0;
  }
}

/**
 * The machine clock. `now` counts cycles as a double (exact up to 2^53). Timers live in a binary heap
 * ordered by deadline, ties broken by arming order so that runs are deterministic.
 */
export class Scheduler {
  now = 0;
  readonly frequencyHz: number;
  private heap: Timer[] = [];
  private seq = new Map<Timer, number>();
  private nextSeq = 0;

  constructor(frequencyHz = 1_000_000_000) {
    this.frequencyHz = frequencyHz;
  }

  createTimer(name: string, callback: (now: number) => void): Timer {
    return new Timer(name, callback, this);
  }

  /** The deadline of the earliest armed timer, or +Infinity. */
  nextDeadline(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0].deadline;
  }

  arm(t: Timer, cycle: number): void {
    if (t.heapIndex >= 0) this.remove(t);
    t.deadline = Math.max(cycle, this.now);
    this.seq.set(t, this.nextSeq++);
    t.heapIndex = this.heap.length;
    this.heap.push(t);
    this.up(t.heapIndex);
  }

  cancel(t: Timer): void {
    if (t.heapIndex >= 0) this.remove(t);
    t.deadline = -1;
  }

  /** Fires every timer whose deadline is <= now, in deadline order. Returns how many fired. */
  runDue(): number {
    let fired = 0;
    while (this.heap.length > 0 && this.heap[0].deadline <= this.now) {
      const t = this.heap[0];
      this.remove(t);
      t.deadline = -1;
      fired++;
      t.callback(this.now);
    }
    return fired;
  }

  /** Seconds of simulated time at the nominal frequency. */
  seconds(cycles = this.now): number {
    return cycles / this.frequencyHz;
  }

  private less(a: Timer, b: Timer): boolean {
    if (a.deadline !== b.deadline) return a.deadline < b.deadline;
    return this.seq.get(a)! < this.seq.get(b)!;
  }

  private remove(t: Timer): void {
    const i = t.heapIndex;
    const last = this.heap.pop()!;
    t.heapIndex = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const t = h[i];
    h[i] = h[j];
    h[j] = t;
    h[i].heapIndex = i;
    h[j].heapIndex = j;
  }
}
