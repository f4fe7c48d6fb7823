// Owns descriptor-ring geometry shared by TX and RX (devices.md 1.7): base/length/head/tail from the register file,
// the validity checks hostile programming needs, and a ring's snapshot. Leaves the per-descriptor work to tx/rx.

import { DESCRIPTOR_SIZE, type E1000Reg, RING_INDEX_MASK, RING_LEN_MASK } from './e1000-regs.js';

export interface RingSnapshot {
  base: number;
  lengthBytes: number;
  descriptors: number;
  head: number;
  tail: number;
  /** Descriptors the hardware owns: from head up to, not including, tail (0 when the ring is unusable). */
  hardwareOwned: number;
  /** Why the ring cannot be used right now, or null. */
  invalid: string | null;
}

/**
 * A view of one ring's registers. `load()` reads base, length, head and tail once per pass; addresses are
 * exact doubles (BAH << 32 | BAL), so a base near 4 GiB or with BAH != 0 yields addresses the DMA space refuses
 * rather than wrapping onto low memory.
 */
export class DescriptorRing {
  base = 0;
  count = 0;
  private readonly bal: number;
  private readonly bah: number;
  private readonly len: number;
  private readonly h: number;
  private readonly t: number;

  constructor(
    private readonly regs: Uint32Array,
    baseLow: E1000Reg,
    baseHigh: E1000Reg,
    length: E1000Reg,
    head: E1000Reg,
    tail: E1000Reg,
  ) {
    this.bal = baseLow >>> 2;
    this.bah = baseHigh >>> 2;
    this.len = length >>> 2;
    this.h = head >>> 2;
    this.t = tail >>> 2;
  }

  /** Reads the geometry; false when the ring is unusable (no descriptors, head or tail beyond the end). */
  load(): boolean {
    this.base = this.regs[this.bah] * 0x1_0000_0000 + this.regs[this.bal];
    this.count = (this.regs[this.len] & RING_LEN_MASK) / DESCRIPTOR_SIZE;
    return this.count !== 0 && this.head < this.count && this.tail < this.count;
  }

  get head(): number {
    return this.regs[this.h] & RING_INDEX_MASK;
  }

  set head(value: number) {
    this.regs[this.h] = value & RING_INDEX_MASK;
  }

  get tail(): number {
    return this.regs[this.t] & RING_INDEX_MASK;
  }

  /** Descriptors from head up to tail, mod count (valid after a successful load). */
  get hardwareOwned(): number {
    const d = this.tail - this.head;
    return d >= 0 ? d : d + this.count;
  }

  descriptorAddress(index: number): number {
    return this.base + index * DESCRIPTOR_SIZE;
  }

  /** Head moves one descriptor on, wrapping at count. */
  advance(): void {
    const next = this.head + 1;
    this.head = next === this.count ? 0 : next;
  }

  /** True when [address, address + length) intersects the ring's descriptors (a hostile buffer). */
  overlaps(address: number, length: number): boolean {
    const end = this.base + this.count * DESCRIPTOR_SIZE;
    return length > 0 && address < end && this.base < address + length;
  }

  snapshot(): RingSnapshot {
    const base = this.regs[this.bah] * 0x1_0000_0000 + this.regs[this.bal];
    const lengthBytes = this.regs[this.len] & RING_LEN_MASK;
    const descriptors = lengthBytes / DESCRIPTOR_SIZE;
    const head = this.head;
    const tail = this.tail;
    let invalid: string | null = null;
    if (descriptors === 0) invalid = 'length 0';
    else if (head >= descriptors) invalid = `head ${head} >= ${descriptors} descriptors`;
    else if (tail >= descriptors) invalid = `tail ${tail} >= ${descriptors} descriptors`;
    const owned = invalid !== null ? 0 : (tail - head + descriptors) % descriptors;
    return { base, lengthBytes, descriptors, head, tail, hardwareOwned: owned, invalid };
  }
}
