// The contract every BusDevice passes (STYLE rule 10): peek has no side effects and equals what read returns,
// every offset/size gives a defined value, and no access throws. Device-specific behaviour has its own tests.

import { expect } from 'vitest';
import { type AccessSize, type BusDevice, allOnes } from '../../src/core/bus.js';
import { Rng } from '../../src/core/rng.js';

const SIZES: readonly AccessSize[] = [1, 2, 4];

export interface ContractSubject {
  /** A fresh device in some interesting state (the setup may write registers, feed input, raise lines). */
  make(): BusDevice;
  /** Offsets to probe: the device's window plus a few beyond it. */
  window: number;
}

/** Peeks every offset at every size: a snapshot of what the device would answer right now. */
function snapshot(device: BusDevice, window: number): number[] {
  const values: number[] = [];
  for (let o = 0; o < window + 4; o++) for (const s of SIZES) values.push(device.peek(o, s));
  return values;
}

/**
 * For each offset and size on a fresh device: peek twice around a full snapshot (peek changes nothing),
 * then read and compare with the peeked value, and check the value is an unsigned integer of the access size.
 * A byte access must read exactly what peek said, side effects or not (that is what peek is for). A wider
 * access to a byte-wide device is split into byte reads, and an earlier byte's side effect (a FIFO pop, a
 * poll acknowledge) can change what the next byte reads; so for a wide read that changed the device's state,
 * only the first byte has to match.
 */
export function checkPeekMatchesRead(subject: ContractSubject): void {
  for (let o = 0; o < subject.window + 4; o++) {
    for (const s of SIZES) {
      const device = subject.make();
      const before = snapshot(device, subject.window);
      const peeked = device.peek(o, s);
      expect(snapshot(device, subject.window), `${device.name}: peek(${o}, ${s}) changed state`).toEqual(before);
      expect(device.peek(o, s), `${device.name}: peek(${o}, ${s}) not stable`).toBe(peeked);
      const value = device.read(o, s);
      expect(Number.isInteger(value) && value >= 0 && value <= allOnes(s), `${device.name}: read(${o}, ${s}) = ${value}`).toBe(true);
      expectReadMatchesPeek(device, subject.window, o, s, value, peeked, before);
    }
  }
}

function expectReadMatchesPeek(
  device: BusDevice,
  window: number,
  o: number,
  s: AccessSize,
  value: number,
  peeked: number,
  before: number[],
): void {
  const after = snapshot(device, window);
  const sideEffects = after.some((v, i) => v !== before[i]);
  if (s === 1 || !sideEffects) expect(value, `${device.name}: read(${o}, ${s}) differs from peek`).toBe(peeked);
  else expect(value & 0xff, `${device.name}: read(${o}, ${s}) first byte differs from peek`).toBe(peeked & 0xff);
}

/** Reads three rounds on one device: after earlier reads' side effects, peek still predicts each read. */
export function checkRepeatedReads(subject: ContractSubject): void {
  const device = subject.make();
  for (let round = 0; round < 3; round++) {
    for (let o = 0; o < subject.window + 4; o++) {
      for (const s of SIZES) {
        const before = snapshot(device, subject.window);
        const peeked = device.peek(o, s);
        const value = device.read(o, s);
        expectReadMatchesPeek(device, subject.window, o, s, value, peeked, before);
      }
    }
  }
}

/** Random writes and reads at every offset, size and out-of-range offsets: nothing throws, values stay defined. */
export function checkNoThrow(subject: ContractSubject, seed = 1): void {
  const rng = new Rng(seed);
  const device = subject.make();
  const offsets = [-1, 0x10000, 0xffffffff, subject.window, subject.window + 3];
  for (let o = 0; o < subject.window; o++) offsets.push(o);
  for (let i = 0; i < 2000; i++) {
    const o = offsets[rng.below(offsets.length)];
    const s = SIZES[rng.below(3)];
    const kind = rng.below(4);
    const value = kind === 0 ? 0 : kind === 1 ? allOnes(s) : rng.u32() & allOnes(s);
    expect(() => device.write(o, s, value)).not.toThrow();
    const r = device.read(o, s);
    expect(Number.isInteger(r) && r >= 0 && r <= allOnes(s), `${device.name}: read(${o}, ${s}) = ${r}`).toBe(true);
    const p = device.peek(o, s);
    expect(Number.isInteger(p) && p >= 0 && p <= allOnes(s)).toBe(true);
  }
}

/** The whole contract, for one subject. */
export function checkBusDeviceContract(subject: ContractSubject, seed = 1): void {
  checkPeekMatchesRead(subject);
  checkRepeatedReads(subject);
  checkNoThrow(subject, seed);
}
