// The contract every DMA space passes (STYLE: contract suites; the DmaSpace comment in src/core/dma.ts):
// transfers are page by page and stop at the first failing page (none of its bytes or later ones move),
// only RAM is ever a target (MMIO and unbacked addresses are Rejected or Fault and no device is called),
// MSIs reach the sink only from inside 0xFEE0_0000-0xFEEF_FFFF, every call returns a status and never throws,
// and the same sequence gives the same results. Implementation-specific behaviour has its own tests.

import { describe, expect, it } from 'vitest';
import { type DmaSpace, DmaStatus } from '../../src/core/dma.js';
import { PAGE_SIZE, type PhysicalMemory } from '../../src/core/physical-memory.js';
import { Rng } from '../../src/core/rng.js';
import type { RecordingDevice, RecordingMsiSink } from '../devices/iommu/vtd-fixture.js';

export interface DmaSubject {
  space: DmaSpace;
  memory: PhysicalMemory;
  /**
   * [mappedIova, mappedIova + mappedLength) is readable and writable for requesterId. Both page-aligned,
   * mappedLength at least 4 pages. The page right after it (mappedIova + mappedLength) must fail for
   * requesterId (unmapped, or beyond RAM).
   */
  mappedIova: number;
  mappedLength: number;
  /** Where mappedIova lands in RAM (the range is contiguous there); defaults to mappedIova (identity). */
  mappedHpa?: number;
  requesterId: number;
  msiSink: RecordingMsiSink;
  /** A recording device mapped in `memory`; must never be called by the space. */
  mmioDevice?: RecordingDevice;
  /** An IOVA the space resolves (for requesterId) to inside mmioDevice's window: required with mmioDevice. */
  mmioIova?: number;
  /** An IOVA the space resolves to an unbacked physical address (neither RAM nor MMIO), below 4 GiB. */
  unbackedIova: number;
}

/** The checks, by name, so a subject can declare a known contract violation (`it.fails`). */
export type DmaCheck =
  | 'roundTrip'
  | 'noStrayBytes'
  | 'stopsAtFailingPage'
  | 'nonRamTargets'
  | 'msiWindow'
  | 'msiAliases'
  | 'hostileArguments'
  | 'deterministic';

export interface DmaContractOptions {
  /** Checks the subject is known to fail, with the bug (the test runs as `it.fails`, so fixing it turns red). */
  knownBugs?: Partial<Record<DmaCheck, string>>;
}

const STATUSES: readonly number[] = [DmaStatus.Ok, DmaStatus.Fault, DmaStatus.Rejected];
const MSI_LO = 0xfee00000;

function pattern(seed: number, length: number): Uint8Array {
  const rng = new Rng(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = rng.u32() & 0xff;
  return bytes;
}

/** First index where a and b differ outside [skipLo, skipHi), or -1. */
function firstDiffOutside(a: Uint8Array, b: Uint8Array, skipLo: number, skipHi: number): number {
  for (let i = 0; i < a.length; i++) {
    if (i >= skipLo && i < skipHi) continue;
    if (a[i] !== b[i]) return i;
  }
  return -1;
}

function hex(n: number): string {
  return Number.isFinite(n) ? `0x${n.toString(16)}` : String(n);
}

/** Lengths x offsets-within-the-range for round trips; offsets near page ends make page-crossing transfers. */
function transfers(s: DmaSubject): { offset: number; length: number }[] {
  const lengths = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 64, 511, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE + 3, s.mappedLength];
  const offsets = [0, 1, 2, 3, 4, PAGE_SIZE - 1, PAGE_SIZE - 2, PAGE_SIZE - 3, PAGE_SIZE + 0x7fd, 2 * PAGE_SIZE - 8];
  const out: { offset: number; length: number }[] = [];
  for (const length of lengths) {
    for (const offset of offsets) if (offset + length <= s.mappedLength) out.push({ offset, length });
  }
  out.push({ offset: s.mappedLength - PAGE_SIZE - 5, length: PAGE_SIZE + 5 }); // ends exactly at the range end
  out.push({ offset: s.mappedLength - 1, length: 1 });
  return out;
}

function hpaOf(s: DmaSubject): number {
  return s.mappedHpa ?? s.mappedIova;
}

/** Nothing the space may never do happened: no device access, no MSI. */
function expectNoSideChannels(s: DmaSubject, what: string): void {
  if (s.mmioDevice) expect(s.mmioDevice.accesses, `${what}: MMIO device was called`).toEqual([]);
  expect(s.msiSink.msis, `${what}: MSI sink was called`).toEqual([]);
}

/** The sequence the determinism check replays: every kind of call, results as a transcript. */
function runSequence(s: DmaSubject): string[] {
  const log: string[] = [];
  const rq = s.requesterId;
  const src = pattern(7, 3 * PAGE_SIZE);
  const dst = new Uint8Array(3 * PAGE_SIZE);
  const end = s.mappedIova + s.mappedLength;
  const calls: [string, () => DmaStatus][] = [
    ['w mapped', () => s.space.write(rq, s.mappedIova + 3, src, 2 * PAGE_SIZE)],
    ['r mapped', () => s.space.read(rq, s.mappedIova + 1, dst, 2 * PAGE_SIZE + 5)],
    ['w cross', () => s.space.write(rq, end - PAGE_SIZE - 7, src, 3 * PAGE_SIZE)],
    ['r cross', () => s.space.read(rq, end - PAGE_SIZE - 7, dst, 3 * PAGE_SIZE)],
    ['w unbacked', () => s.space.write(rq, s.unbackedIova, src, 16)],
    ['r unbacked', () => s.space.read(rq, s.unbackedIova, dst, 16)],
    ['w msi window', () => s.space.write(rq, MSI_LO, src, 4)],
    // Same bytes as 'w mapped' puts there, so a second run on the same subject sees the same RAM.
    ['w other rq', () => s.space.write(rq ^ 0x0100, s.mappedIova + 3, src, 8)],
    ['r hostile', () => s.space.read(rq, -1, dst, 4)],
    ['w hostile', () => s.space.write(rq, s.mappedIova, src, src.length + 1)],
    ['msi in', () => s.space.msi(rq, 0xfee0100c, 0x4041)],
    ['msi out', () => s.space.msi(rq, 0xfed00000, 0x4041)],
  ];
  if (s.mmioIova !== undefined) {
    calls.push(['w mmio', () => s.space.write(rq, s.mmioIova!, src, 8)], ['r mmio', () => s.space.read(rq, s.mmioIova!, dst, 8)]);
  }
  for (const [name, call] of calls) {
    dst.fill(0x5a);
    const status = call();
    log.push(`${name}: ${status} ${hashBytes(dst)}`);
  }
  log.push(`ram ${hashBytes(s.memory.u8)}`);
  log.push(`msis ${JSON.stringify(s.msiSink.msis)}`);
  log.push(`mmio ${JSON.stringify(s.mmioDevice?.accesses ?? [])}`);
  return log;
}

function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16);
}

/** Runs the DmaSpace contract against fresh subjects from makeSubject (called once per check, or more). */
export function dmaSpaceContract(name: string, makeSubject: () => DmaSubject, options: DmaContractOptions = {}): void {
  const check = (id: DmaCheck, title: string, body: () => void): void => {
    const bug = options.knownBugs?.[id];
    if (bug !== undefined) it.fails(`${title} [known bug: ${bug}]`, body);
    else it(title, body);
  };

  describe(`DmaSpace contract: ${name}`, () => {
    check('roundTrip', '(1) write then read of the mapped range round-trips byte-exact, at any length and alignment', () => {
      const s = makeSubject();
      let seed = 1;
      for (const { offset, length } of transfers(s)) {
        const what = `offset ${hex(offset)} length ${length}`;
        // Buffers longer than `length`: only the first `length` bytes take part.
        const src = pattern(seed++, length + 9);
        expect(s.space.write(s.requesterId, s.mappedIova + offset, src, length), `write ${what}`).toBe(DmaStatus.Ok);
        const ram = s.memory.u8.subarray(hpaOf(s) + offset, hpaOf(s) + offset + length);
        expect(firstDiffOutside(ram, src.subarray(0, length), 0, 0), `write ${what}: RAM differs at`).toBe(-1);
        const dst = new Uint8Array(length + 9).fill(0xa5);
        expect(s.space.read(s.requesterId, s.mappedIova + offset, dst, length), `read ${what}`).toBe(DmaStatus.Ok);
        expect(firstDiffOutside(dst.subarray(0, length), src.subarray(0, length), 0, 0), `read ${what}: data differs at`).toBe(-1);
        expect([...dst.subarray(length)], `read ${what}: dst beyond length touched`).toEqual(new Array(9).fill(0xa5));
      }
      expectNoSideChannels(s, name);
    });

    check('noStrayBytes', '(2) a transfer changes no RAM byte outside its target range (a read changes none)', () => {
      const s = makeSubject();
      let seed = 100;
      for (const { offset, length } of transfers(s)) {
        const what = `offset ${hex(offset)} length ${length}`;
        const before = s.memory.u8.slice();
        const src = pattern(seed++, length);
        expect(s.space.write(s.requesterId, s.mappedIova + offset, src, length), `write ${what}`).toBe(DmaStatus.Ok);
        const lo = hpaOf(s) + offset;
        expect(firstDiffOutside(s.memory.u8, before, lo, lo + length), `write ${what}: stray byte at`).toBe(-1);
        const afterWrite = s.memory.u8.slice();
        expect(s.space.read(s.requesterId, s.mappedIova + offset, new Uint8Array(length), length), `read ${what}`).toBe(DmaStatus.Ok);
        expect(firstDiffOutside(s.memory.u8, afterWrite, 0, 0), `read ${what}: RAM changed at`).toBe(-1);
      }
      expectNoSideChannels(s, name);
    });

    check('stopsAtFailingPage', '(3) a transfer running off the mapped range fails and moves nothing from the failing page on', () => {
      const end = (s: DmaSubject): number => s.mappedIova + s.mappedLength;
      const cases = [
        { back: 1, length: 2 },
        { back: 7, length: 8 + PAGE_SIZE },
        { back: PAGE_SIZE + 0x123, length: 3 * PAGE_SIZE },
        { back: 2 * PAGE_SIZE, length: 2 * PAGE_SIZE + 1 },
        { back: 0, length: 4 },
      ];
      for (const { back, length } of cases) {
        for (const isWrite of [true, false]) {
          const s = makeSubject();
          const what = `${isWrite ? 'write' : 'read'} at end-${back} length ${length}`;
          const before = s.memory.u8.slice();
          const buf = isWrite ? pattern(back + length, length) : new Uint8Array(length);
          const status = isWrite
            ? s.space.write(s.requesterId, end(s) - back, buf, length)
            : s.space.read(s.requesterId, end(s) - back, buf, length);
          expect(status, what).not.toBe(DmaStatus.Ok);
          expect(STATUSES, `${what}: status ${status}`).toContain(status);
          // Allowed to change: only the target bytes inside the mapped range, and only to the source data.
          const lo = hpaOf(s) + s.mappedLength - back;
          const hi = isWrite ? hpaOf(s) + s.mappedLength : lo;
          expect(firstDiffOutside(s.memory.u8, before, lo, hi), `${what}: byte changed at`).toBe(-1);
          for (let i = lo; i < hi; i++) {
            if (s.memory.u8[i] !== before[i]) expect(s.memory.u8[i], `${what}: RAM ${hex(i)} is not source data`).toBe(buf[i - lo]);
          }
          // Page granularity: the written part is whole pages (or the whole head) from the start.
          if (isWrite) {
            let firstUnwritten = hi;
            for (let i = lo; i < hi; i++) {
              if (s.memory.u8[i] !== buf[i - lo]) {
                firstUnwritten = i;
                break;
              }
            }
            for (let i = firstUnwritten; i < hi; i++) {
              expect(s.memory.u8[i], `${what}: ${hex(i)} written after an unwritten byte ${hex(firstUnwritten)}`).toBe(before[i]);
            }
          }
          expectNoSideChannels(s, what);
        }
      }
    });

    check('nonRamTargets', '(4) MMIO, unbacked and MSI-window targets are Rejected or Fault and no device is called', () => {
      const targets: [string, (s: DmaSubject) => number | undefined][] = [
        ['mmio', (s) => s.mmioIova],
        ['mmio+0xffc', (s) => (s.mmioIova === undefined ? undefined : s.mmioIova + 0xffc)],
        ['unbacked', (s) => s.unbackedIova],
        ['msi window', () => MSI_LO],
        ['msi window + 0x1000', () => MSI_LO + 0x1000],
      ];
      for (const [label, at] of targets) {
        for (const length of [1, 4, 8, PAGE_SIZE]) {
          for (const isWrite of [true, false]) {
            const s = makeSubject();
            const iova = at(s);
            if (iova === undefined) continue;
            const what = `${isWrite ? 'write' : 'read'} ${label} ${hex(iova)} length ${length}`;
            const before = s.memory.u8.slice();
            const buf = isWrite ? pattern(length, length) : new Uint8Array(length);
            const status = isWrite ? s.space.write(s.requesterId, iova, buf, length) : s.space.read(s.requesterId, iova, buf, length);
            expect([DmaStatus.Rejected, DmaStatus.Fault], `${what}: status ${status}`).toContain(status);
            expect(firstDiffOutside(s.memory.u8, before, 0, 0), `${what}: RAM changed at`).toBe(-1);
            expectNoSideChannels(s, what);
          }
        }
      }
    });

    check('msiWindow', '(5) msi() inside 0xFEE00000-0xFEEFFFFF reaches the sink as sent; outside it is Rejected', () => {
      const s = makeSubject();
      const inside: [number, number][] = [
        [0xfee00000, 0x4041],
        [0xfee0100c, 0x00c1],
        [0xfeeff000, 0xffffffff],
        [0xfeeffffc, 0],
      ];
      const sent: { address: number; data: number }[] = [];
      for (const [address, data] of inside) {
        expect(s.space.msi(s.requesterId, address, data), `msi ${hex(address)}`).toBe(DmaStatus.Ok);
        sent.push({ address, data });
        expect(s.msiSink.msis).toEqual(sent);
      }
      const outside = [0, 0xfedffffc, 0xfef00000, 0xfec00000, 0xffe00000, 0x7ee00000, 0xffffffff, 0x1000];
      for (const address of outside) {
        expect(s.space.msi(s.requesterId, address, 0x4041), `msi ${hex(address)}`).toBe(DmaStatus.Rejected);
        expect(s.msiSink.msis, `msi ${hex(address)} reached the sink`).toEqual(sent);
      }
      if (s.mmioDevice) expect(s.mmioDevice.accesses).toEqual([]);
    });

    check('msiAliases', '(5b) msi() addresses outside [0, 2^32) that alias the window (negative, >= 2^32, fractional) are Rejected', () => {
      const s = makeSubject();
      const aliases = [0xfee00000 - 0x1_0000_0000, 0xfee00000 + 0x1_0000_0000, -0x1200000 - 0x1_0000_0000, 0xfee00000 + 0.5, 0xfee00000 * 2 ** 20];
      for (const address of aliases) {
        const status = s.space.msi(s.requesterId, address, 0x4041);
        expect(status, `msi ${address}`).toBe(DmaStatus.Rejected);
        expect(s.msiSink.msis, `msi ${address} reached the sink`).toEqual([]);
      }
    });

    check('hostileArguments', '(6) hostile arguments never throw; malformed requests move nothing', () => {
      const s = makeSubject();
      const rq = s.requesterId;
      const buf = pattern(9, 64);
      const before = s.memory.u8.slice();
      // Malformed: the transfer cannot be done as asked, so it must not be Ok and must move nothing.
      const malformed: [string, number, number][] = [
        ['negative iova', -1, 4],
        ['negative iova, page-aligned', -PAGE_SIZE, 4],
        ['fractional iova', s.mappedIova + 0.5, 4],
        ['NaN iova', NaN, 4],
        ['Infinity iova', Infinity, 4],
        ['-Infinity iova', -Infinity, 4],
        ['iova 2^64', 2 ** 64, 4],
        ['length > buffer', s.mappedIova, 65],
        ['length > buffer (huge)', s.mappedIova, 2 ** 40],
        ['negative length', s.mappedIova, -1],
        ['fractional length', s.mappedIova, 1.5],
        ['NaN length', s.mappedIova, NaN],
        ['Infinity length', s.mappedIova, Infinity],
      ];
      // Well-formed but unmappable: any non-Ok status, nothing moved.
      const unmappable: [string, number, number][] = [
        ['iova 2^32 + mapped', 2 ** 32 + s.mappedIova, 4],
        ['iova 2^53', 2 ** 53, 4],
        ['iova 2^63', 2 ** 63, 4],
        ['iova 0xffffffff crossing 4 GiB', 0xffffffff, 2],
        ['iova 0xfffffffc', 0xfffffffc, 4],
      ];
      const statusOf = (f: () => DmaStatus, what: string): DmaStatus => {
        let status: DmaStatus = DmaStatus.Ok;
        expect(() => {
          status = f();
        }, `${what} threw`).not.toThrow();
        expect(STATUSES, `${what}: status ${status}`).toContain(status);
        return status;
      };
      for (const [label, iova, length] of [...malformed, ...unmappable]) {
        for (const isWrite of [true, false]) {
          const what = `${isWrite ? 'write' : 'read'} ${label}`;
          const dst = new Uint8Array(64).fill(0x3c);
          const status = statusOf(() => (isWrite ? s.space.write(rq, iova, buf, length) : s.space.read(rq, iova, dst, length)), what);
          expect(status, what).not.toBe(DmaStatus.Ok);
          expect(firstDiffOutside(s.memory.u8, before, 0, 0), `${what}: RAM changed at`).toBe(-1);
        }
      }
      // Length 0: a transfer of nothing, Ok at a mapped address; anywhere, nothing moves and nothing throws.
      for (const iova of [s.mappedIova, s.mappedIova + 5, s.unbackedIova, s.mmioIova ?? s.unbackedIova, MSI_LO, 0xfffff000]) {
        for (const isWrite of [true, false]) {
          const what = `${isWrite ? 'write' : 'read'} length 0 at ${hex(iova)}`;
          const dst = new Uint8Array(4).fill(0x3c);
          const status = statusOf(() => (isWrite ? s.space.write(rq, iova, buf, 0) : s.space.read(rq, iova, dst, 0)), what);
          if (iova === s.mappedIova || iova === s.mappedIova + 5) expect(status, what).toBe(DmaStatus.Ok);
          expect([...dst], `${what}: dst changed`).toEqual([0x3c, 0x3c, 0x3c, 0x3c]);
          expect(firstDiffOutside(s.memory.u8, before, 0, 0), `${what}: RAM changed at`).toBe(-1);
        }
      }
      // Hostile requester IDs: any status, no throw, and nothing outside the mapped range moves.
      for (const requester of [-1, 0x10000, 0xffffffff, NaN, 1.5, 2 ** 40]) {
        const what = `requester ${requester}`;
        statusOf(() => s.space.write(requester, s.mappedIova, buf, 8), `write ${what}`);
        statusOf(() => s.space.read(requester, s.mappedIova, new Uint8Array(8), 8), `read ${what}`);
        statusOf(() => s.space.msi(requester, 0xfed00000, 1), `msi outside ${what}`);
        expect(firstDiffOutside(s.memory.u8, before, hpaOf(s), hpaOf(s) + 8), `${what}: RAM changed at`).toBe(-1);
      }
      // Hostile MSI arguments: no throw; data of any number is accepted or rejected, never an exception.
      for (const [address, data] of [
        [NaN, 0],
        [Infinity, 0],
        [-1, 0],
        [0xfee00000, NaN],
        [0xfee00000, -1],
        [0xfee00000, 2 ** 40],
        [0xfee00000, 0.5],
      ] as [number, number][]) {
        statusOf(() => s.space.msi(rq, address, data), `msi ${address} data ${data}`);
      }
      for (const m of s.msiSink.msis) {
        expect(((m.address & 0xfff00000) >>> 0) === MSI_LO && m.address >= 0 && m.address <= 0xffffffff, `sink got address ${m.address}`).toBe(true);
        expect(Number.isInteger(m.data) && m.data >= 0 && m.data <= 0xffffffff, `sink got data ${m.data}`).toBe(true);
      }
      if (s.mmioDevice) expect(s.mmioDevice.accesses).toEqual([]);
    });

    check('deterministic', '(7) the same sequence on fresh subjects, and twice on one, gives the same results', () => {
      const a = runSequence(makeSubject());
      const b = runSequence(makeSubject());
      expect(b).toEqual(a);
      // Twice on one subject: statuses and read data repeat (counters and fault logs may move on).
      const s = makeSubject();
      const first = runSequence(s).slice(0, -3);
      s.msiSink.msis.length = 0;
      const second = runSequence(s).slice(0, -3);
      expect(second).toEqual(first);
    });
  });
}
