// Test helpers for the local APIC: a fresh APIC on a 1 GHz scheduler, MSR access as numbers/bigints,
// mode switches, and a run-to helper that fires due timers as the machine's run loop does.

import { Scheduler } from '../../../src/core/scheduler.js';
import { LocalApic, type LocalApicOptions } from '../../../src/devices/apic/local-apic.js';

export const APIC_BASE = 0x1b;
export const EN = 1 << 11;
export const EXTD = 1 << 10;
export const BSP = 1 << 8;
export const BASE = 0xfee00000;

export interface Rig {
  apic: LocalApic;
  s: Scheduler;
  /** How many times onInterruptPending was called. */
  notified: () => number;
  eoiBroadcasts: number[];
  tscOffset: { value: number };
}

export function makeApic(options: Partial<LocalApicOptions> = {}): Rig {
  const s = new Scheduler(1_000_000_000);
  let notified = 0;
  const eoiBroadcasts: number[] = [];
  const tscOffset = { value: 0 };
  const apic = new LocalApic({
    scheduler: s,
    tsc: () => s.now + tscOffset.value,
    onInterruptPending: () => notified++,
    onEoiBroadcast: (v) => eoiBroadcasts.push(v),
    ...options,
  });
  return { apic, s, notified: () => notified, eoiBroadcasts, tscOffset };
}

const scratch = new Int32Array(2);

/** RDMSR: the 64-bit value as a bigint, or 'GP'. */
export function rdmsr(apic: LocalApic, index: number): bigint | 'GP' {
  if (!apic.claims(index)) throw new Error(`MSR ${index.toString(16)} not claimed`);
  if (!apic.rdmsr(index, scratch)) return 'GP';
  return (BigInt(scratch[1] >>> 0) << 32n) | BigInt(scratch[0] >>> 0);
}

/** RDMSR low dword as an unsigned number (throws on #GP). */
export function rd32(apic: LocalApic, index: number): number {
  const v = rdmsr(apic, index);
  if (v === 'GP') throw new Error(`RDMSR ${index.toString(16)} raised #GP`);
  return Number(v & 0xffffffffn);
}

/** WRMSR of a 64-bit value; false means #GP. */
export function wrmsr(apic: LocalApic, index: number, value: number | bigint): boolean {
  // A negative number is a 32-bit value built with JS bitwise operators: take it as unsigned.
  const v = typeof value === 'number' && value < 0 ? BigInt(value >>> 0) : BigInt(value);
  return apic.wrmsr(index, Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0);
}

export function mmio(apic: LocalApic, offset: number): number {
  return apic.read(offset, 4);
}

export function mmioWrite(apic: LocalApic, offset: number, value: number): void {
  apic.write(offset, 4, value >>> 0);
}

/** xAPIC -> x2APIC (SDM 11.12.1) and software-enable with spurious vector 0xFF. */
export function x2apic(apic: LocalApic, softwareEnable = true): void {
  if (!wrmsr(apic, APIC_BASE, BASE | EN | EXTD)) throw new Error('x2APIC enable raised #GP');
  if (softwareEnable && !wrmsr(apic, 0x80f, 0x1ff)) throw new Error('SVR write raised #GP');
}

/** Software-enable in xAPIC mode (SVR = 0x1FF). */
export function xapicEnable(apic: LocalApic): void {
  mmioWrite(apic, 0xf0, 0x1ff);
}

/** Advances simulated time to `cycle`, firing due timers on the way, as the machine's run loop does. */
export function runTo(s: Scheduler, cycle: number): void {
  while (s.nextDeadline() <= cycle) {
    s.now = s.nextDeadline();
    s.runDue();
  }
  s.now = cycle;
}

/** Vectors set in a 256-bit register read as eight dwords through `read(i)`. */
export function vectorsOf(read: (i: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const w = read(i) >>> 0;
    for (let b = 0; b < 32; b++) if ((w & (1 << b)) !== 0) out.push(i * 32 + b);
  }
  return out;
}
