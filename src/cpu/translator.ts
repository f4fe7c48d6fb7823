// The block translator: a hot chain of cached instructions becomes one generated JavaScript function that
// calls each instruction's handler directly (so V8 can inline it). The interpreter stays the reference.

import type { Cpu } from './cpu.js';
import { DecodeCache, type Handler } from './decoder.js';

export type BlockFn = (cpu: Cpu) => void;

/** How often a chain head must be reached through the page map before it is translated. */
export const HOT_THRESHOLD = 64;
/** The longest chain one block covers. */
export const MAX_BLOCK = 48;

/**
 * Blocks by head slot. A block runs the chain s, s+1, ... exactly as execLoop would: EIP, instrEip and
 * the cycle budget are updated per instruction, and it returns to the interpreter on a taken branch, a
 * fault (by throwing), the end of the budget, or any change that could make a decoded instruction stale
 * (cpu.codeGen). When its last instruction jumps back to its first, it loops without returning.
 */
export class Translator {
  readonly hits = new Uint8Array(DecodeCache.SLOTS);
  private blocks: (BlockFn | undefined)[] = [];
  compiled = 0;

  constructor(private readonly handlers: Handler[]) {}

  get(s: number): BlockFn | undefined {
    return this.blocks[s];
  }

  /** Counts a visit to chain head s; translates it when it becomes hot. */
  visit(cpu: Cpu, s: number): BlockFn | undefined {
    const h = this.hits[s] + 1;
    this.hits[s] = h;
    if (h < HOT_THRESHOLD) return undefined;
    this.hits[s] = 0;
    const fn = this.translate(cpu.d, s);
    this.blocks[s] = fn;
    return fn;
  }

  clear(): void {
    this.blocks = [];
    this.hits.fill(0);
  }

  private translate(d: DecodeCache, head: number): BlockFn {
    const slots: number[] = [head];
    for (let s = head; d.seq[s] !== 0 && slots.length < MAX_BLOCK; s++) slots.push(s + 1);
    const params: string[] = [];
    const args: Handler[] = [];
    const lines: string[] = ['"use strict";', 'return function block(cpu) {', '  const g = cpu.codeGen;', '  const start = cpu.eip;', '  for (;;) {', '    let e = cpu.eip;', '    let n = 0;'];
    slots.forEach((s, i) => {
      params.push(`h${i}`);
      args.push(this.handlers[d.op[s]]);
      lines.push(`    cpu.instrEip = e; n = (e + ${d.len[s]}) | 0; cpu.eip = n; h${i}(cpu, ${s}); cpu.budget--;`);
      if (i < slots.length - 1) {
        lines.push('    if (cpu.eip !== n || cpu.codeGen !== g || cpu.budget <= 0) return;', '    e = n;');
      } else {
        lines.push('    if (cpu.eip !== start || cpu.codeGen !== g || cpu.budget <= 0) return;');
      }
    });
    lines.push('  }', '};');
    this.compiled++;
    // Each block is its own function literal, so its calls are monomorphic and its handlers inlinable.
    const factory = new Function(...params, lines.join('\n')) as (...h: Handler[]) => BlockFn;
    return factory(...args);
  }
}
