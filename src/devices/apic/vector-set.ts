// A 256-bit vector set as eight 32-bit words, the layout of the APIC's IRR, ISR and TMR (SDM Vol. 3 11.8.4).
// What the bits mean (acceptance, priority, EOI) is local-apic.ts's business.

export class VectorSet {
  /** Word i holds vectors 32*i .. 32*i+31, bit n = vector 32*i+n: register IRR0..IRR7 exactly. */
  readonly words = new Uint32Array(8);

  has(vector: number): boolean {
    return (this.words[vector >>> 5] & (1 << (vector & 31))) !== 0;
  }

  set(vector: number): void {
    this.words[vector >>> 5] |= 1 << (vector & 31);
  }

  clear(vector: number): void {
    this.words[vector >>> 5] &= ~(1 << (vector & 31));
  }

  clearAll(): void {
    this.words.fill(0);
  }

  /** The highest vector in the set, or -1 when empty. */
  highest(): number {
    for (let i = 7; i >= 0; i--) {
      const w = this.words[i];
      if (w !== 0) return (i << 5) + 31 - Math.clz32(w);
    }
    return -1;
  }

  /** The vectors in the set, ascending (debuggers only: allocates). */
  list(): number[] {
    const out: number[] = [];
    for (let v = 0; v < 256; v++) if (this.has(v)) out.push(v);
    return out;
  }
}
