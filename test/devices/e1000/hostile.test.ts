// Hostile programming (ecosystem.md 5.2 items 5-8): rings outside RAM or in MMIO, bad lengths, indices beyond the ring,
// head writes, null and overlapping buffers, chains without EOP, ICS storms, ITR = 0, debugger reads. No exceptions,
// bounded work, counted, and RAM outside what the guest gave the NIC stays unchanged.

import { describe, expect, it } from 'vitest';
import { type DmaSpace, DmaStatus } from '../../../src/core/dma.js';
import { Rng } from '../../../src/core/rng.js';
import { E1000Fixture, ICR, OUR_MAC, REG, TX_CMD, changedRanges, makeFrame, onlyChangedWithin, ramImage } from './fixture.js';

const RING = 0x10000;
const BUF = 0x30000;
const RX_BUFS = 0x40000;
const FRAME = makeFrame([...OUR_MAC], 60);
const DST = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

function tx(f: E1000Fixture, base: number, lengthBytes: number, baseHigh = 0): void {
  f.w32(REG.TDBAL, base);
  f.w32(REG.TDBAH, baseHigh);
  f.w32(REG.TDLEN, lengthBytes);
  f.w32(REG.TDH, 0);
  f.w32(REG.TDT, 0);
  f.w32(REG.TCTL, 0x000400fa);
}

function rx(f: E1000Fixture, base: number, lengthBytes: number, tail: number, baseHigh = 0): void {
  f.w32(REG.RDBAL, base);
  f.w32(REG.RDBAH, baseHigh);
  f.w32(REG.RDLEN, lengthBytes);
  f.w32(REG.RDH, 0);
  f.w32(REG.RDT, tail);
  f.w32(REG.RCTL, 0x04008002);
}

describe('rings outside RAM (ecosystem.md 5.2 item 5)', () => {
  it.each([
    ['beyond RAM', 0x20_0000, 0],
    ['in the NIC\'s own BAR', 0xfebc_0000, 0],
    ['wrapping 32 bits', 0xffff_ff80, 0],
    ['above 4 GiB (TDBAH)', 0x1000, 1],
  ])('TX ring %s: the descriptor fetch fails, nothing is sent, TDH stays, counted and recorded', (_name, base, high) => {
    const f = new E1000Fixture();
    f.memory.mapMmio(0xfebc_0000, 0x20000, f.nic); // a DMA must never re-enter the NIC through its own BAR
    const before = ramImage(f);
    tx(f, base, 0x1000, high);
    f.w32(REG.TDT, 5);
    expect(f.peer.frames).toHaveLength(0);
    expect(f.r32(REG.TDH)).toBe(0);
    expect(f.nic.stats.descriptorDmaErrors).toBe(1);
    expect(f.nic.snapshot().lastDmaError).toMatch(/tx descriptor read/);
    expect(f.nic.pci.configRead(0x06, 2) & 0x2000).toBe(0x2000); // Received Master Abort
    expect(f.nic.stats.unknownReads).toBe(0);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
  });

  it.each([
    ['beyond RAM', 0x20_0000, 0],
    ['wrapping 32 bits', 0xffff_f000, 0],
    ['above 4 GiB (RDBAH)', 0x1000, 2],
  ])('RX ring %s: the frame is dropped, receive() false, counted', (_name, base, high) => {
    const f = new E1000Fixture();
    const before = ramImage(f);
    rx(f, base, 0x2000, 10, high);
    expect(f.nic.receive(FRAME, 60)).toBe(false);
    expect(f.r32(REG.RDH)).toBe(0);
    expect(f.nic.stats.descriptorDmaErrors).toBe(1);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
  });

  it('a TX buffer outside RAM drops that frame, still writes back DD, and the next frame goes out', () => {
    const f = new E1000Fixture();
    tx(f, RING, 128);
    f.writeTxDesc(RING, 0, 0x80_0000, 60, TX_CMD.EOP | TX_CMD.RS);
    f.memory.u8.set(makeFrame(DST, 60), BUF);
    f.writeTxDesc(RING, 1, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 2);
    expect(f.peer.frames).toHaveLength(1);
    expect(f.nic.stats.txBufferErrors).toBe(1);
    expect(f.txStatus(RING, 0) & 1).toBe(1);
  });

  it('an RX buffer outside RAM drops the frame (counted) without touching RAM', () => {
    const f = new E1000Fixture();
    f.writeRxDesc(RING, 0, 0x80_0000);
    rx(f, RING, 128, 4);
    const before = ramImage(f);
    expect(f.nic.receive(FRAME, 60)).toBe(false);
    expect(f.nic.stats.rxBufferErrors).toBe(1);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
  });

  it('a failed write-back stops the pass (counted) without an exception', () => {
    const f = new E1000Fixture({
      wrapDma: (inner: DmaSpace): DmaSpace => ({
        read: (r, a, d, n) => inner.read(r, a, d, n),
        write: () => DmaStatus.Fault,
        msi: (r, a, d) => inner.msi(r, a, d),
      }),
    });
    tx(f, RING, 128);
    for (let i = 0; i < 4; i++) f.writeTxDesc(RING, i, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 4);
    expect(f.r32(REG.TDH)).toBe(1);
    expect(f.nic.stats.descriptorDmaErrors).toBe(1);
    expect(f.nic.snapshot().lastDmaError).toMatch(/tx write-back.*fault/);
  });
});

describe('ring lengths and indices (ecosystem.md 5.2 item 5)', () => {
  it('TDLEN/RDLEN 0: nothing happens, counted', () => {
    const f = new E1000Fixture();
    const before = ramImage(f);
    tx(f, RING, 0);
    f.w32(REG.TDT, 3);
    rx(f, RING, 0, 3);
    expect(f.nic.receive(FRAME, 60)).toBe(false);
    expect(f.nic.stats.ringInvalid).toBeGreaterThanOrEqual(2);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.nic.snapshot().tx.invalid).toBe('length 0');
  });

  it('a length that is not a multiple of 128 keeps only bits 19:7', () => {
    const f = new E1000Fixture();
    tx(f, RING, 200);
    expect(f.r32(REG.TDLEN)).toBe(128);
    expect(f.nic.snapshot().tx.descriptors).toBe(8);
  });

  it('a huge TDLEN near the end of RAM fetches until the first page outside RAM and stops', () => {
    const f = new E1000Fixture();
    const base = f.memory.ramBytes - 4 * 16;
    tx(f, base, 0xffff_ffff);
    expect(f.r32(REG.TDLEN)).toBe(0xfff80);
    f.w32(REG.TDT, 0xfff0);
    expect(f.nic.stats.txDescriptors).toBe(4);
    expect(f.nic.stats.descriptorDmaErrors).toBe(1);
  });

  it('TDT or TDH beyond the ring: nothing is processed, counted', () => {
    const f = new E1000Fixture();
    tx(f, RING, 128);
    for (let i = 0; i < 8; i++) f.writeTxDesc(RING, i, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    const before = ramImage(f);
    f.w32(REG.TDT, 100);
    expect(f.peer.frames).toHaveLength(0);
    f.w32(REG.TDT, 0);
    f.w32(REG.TDH, 9);
    f.w32(REG.TDT, 2);
    expect(f.peer.frames).toHaveLength(0);
    expect(f.nic.stats.ringInvalid).toBe(2);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.nic.snapshot().tx.invalid).toMatch(/head 9/);
  });

  it('RDT or RDH beyond the ring: frames dropped, counted', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS);
    f.w32(REG.RDT, 8);
    expect(f.nic.receive(FRAME, 60)).toBe(false);
    f.w32(REG.RDT, 3);
    f.w32(REG.RDH, 0xffff);
    expect(f.nic.receive(FRAME, 60)).toBe(false);
    expect(f.nic.stats.ringInvalid).toBe(2);
  });

  it('a head write while the unit is enabled is counted and honoured', () => {
    const f = new E1000Fixture();
    tx(f, RING, 128);
    f.memory.u8.set(makeFrame(DST, 60), BUF);
    for (let i = 0; i < 8; i++) f.writeTxDesc(RING, i, BUF, 60, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDH, 3);
    f.w32(REG.TDT, 5);
    expect(f.nic.stats.headWritesWhileEnabled).toBe(1);
    expect(f.peer.frames).toHaveLength(2);
    expect(f.txStatus(RING, 0)).toBe(0);
    expect(f.txStatus(RING, 3) & 1).toBe(1);
  });
});

describe('descriptors and buffers (ecosystem.md 5.2 item 6)', () => {
  it('an RX descriptor with buffer address 0 is skipped (DD, no data), page 0 stays untouched', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS);
    f.writeRxDesc(RING, 0, 0);
    f.memory.u8.fill(0x5a, 0, 0x1000);
    const before = ramImage(f);
    const frame = makeFrame([...OUR_MAC], 100);
    expect(f.nic.receive(frame, 100)).toBe(true);
    expect(f.rxDesc(RING, 0)).toEqual({ length: 0, status: 0x01, errors: 0 });
    expect(f.rxDesc(RING, 1)).toEqual({ length: 100, status: 0x07, errors: 0 });
    expect(f.bytes(RX_BUFS + 2048, 100)).toEqual(frame);
    const allowed: [number, number][] = [[RING, RING + 128], [RX_BUFS + 2048, RX_BUFS + 2148]];
    expect(onlyChangedWithin(before, ramImage(f), allowed)).toBe(true);
    expect(f.nic.stats.rxNullBuffers).toBe(1);
  });

  it('RX descriptors whose buffers overlap the ring: bounded, counted, nothing outside ring and buffers changes', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS);
    f.writeRxDesc(RING, 0, RING); // frame lands on the ring itself
    const before = ramImage(f);
    expect(() => {
      for (let i = 0; i < 20; i++) f.nic.receive(makeFrame([...OUR_MAC], 200, i), 200);
    }).not.toThrow();
    expect(f.nic.stats.buffersOverlappingRing).toBeGreaterThan(0);
    const allowed: [number, number][] = [[RING, RING + 2048], [RX_BUFS, RX_BUFS + 8 * 2048]];
    expect(onlyChangedWithin(before, ramImage(f), allowed)).toBe(true);
  });

  it('a TX buffer with address 0 is read like any address (counted); zero-length buffers add nothing', () => {
    const f = new E1000Fixture();
    tx(f, RING, 128);
    const frame = makeFrame(DST, 60);
    f.memory.u8.set(frame, 0);
    f.writeTxDesc(RING, 0, BUF, 0, 0);
    f.writeTxDesc(RING, 1, 0, 60, TX_CMD.EOP);
    f.writeTxDesc(RING, 2, BUF, 0, TX_CMD.EOP | TX_CMD.RS);
    f.w32(REG.TDT, 3);
    expect(f.peer.frames).toEqual([frame]);
    expect(f.nic.stats.txNullBuffers).toBe(1);
    expect(f.nic.stats.txZeroLengthBuffers).toBe(2);
  });

  it('a TX descriptor pointing at the ring sends the ring bytes and changes no RAM beyond write-backs', () => {
    const f = new E1000Fixture();
    tx(f, RING, 128);
    f.writeTxDesc(RING, 0, RING, 128, TX_CMD.EOP | TX_CMD.RS);
    const before = ramImage(f);
    f.w32(REG.TDT, 1);
    expect(f.peer.frames[0]).toHaveLength(128);
    expect(f.nic.stats.buffersOverlappingRing).toBe(1);
    expect(changedRanges(before, ramImage(f))).toEqual([[RING + 12, RING + 13]]);
  });

  it('a chain without EOP longer than 16 KiB is dropped and counted; work per TDT write is one ring at most', () => {
    const f = new E1000Fixture();
    const n = 4096;
    tx(f, RING, n * 16);
    for (let i = 0; i < n; i++) f.writeTxDesc(RING, i, BUF, 4096, i === n - 2 ? TX_CMD.EOP : 0);
    f.w32(REG.TDT, n - 1);
    expect(f.nic.stats.txDescriptors).toBe(n - 1);
    expect(f.nic.stats.txOversizeDropped).toBe(1);
    expect(f.peer.frames).toHaveLength(0);
    // The next frame is sent normally.
    f.memory.u8.set(makeFrame(DST, 60), BUF + 0x2000);
    f.writeTxDesc(RING, n - 1, BUF + 0x2000, 60, TX_CMD.EOP);
    f.w32(REG.TDT, 0);
    expect(f.peer.frames).toHaveLength(1);
    expect(f.peer.frames[0]).toHaveLength(60);
  });

  it('an RX frame larger than every buffer the ring owns is an overrun, not a partial write', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS, 256, 0x04038022 | (1 << 5)); // 256-byte buffers, LPE
    const before = ramImage(f);
    expect(f.nic.receive(makeFrame([...OUR_MAC], 4000), 4000)).toBe(false);
    expect(changedRanges(before, ramImage(f))).toEqual([]);
    expect(f.nic.peek(REG.ICR, 4) & ICR.RXO).toBe(ICR.RXO);
  });

  it('rejects a bogus length argument to receive()', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS);
    expect(f.nic.receive(FRAME, 61)).toBe(false);
    expect(f.nic.receive(FRAME, -1)).toBe(false);
    expect(f.nic.receive(FRAME, 1.5)).toBe(false);
    expect(f.nic.stats.rxBadLength).toBe(3);
  });
});

describe('interrupt storms (ecosystem.md 5.2 item 7)', () => {
  it('an ICS storm with ITR = 0 sends one MSI per episode, O(1) work per write', () => {
    const f = new E1000Fixture();
    f.w32(REG.IMS, ICR.RXT0);
    for (let i = 0; i < 100_000; i++) f.w32(REG.ICS, ICR.RXT0);
    expect(f.sink.msis).toHaveLength(1);
    expect(f.nic.stats.icsWrites).toBe(100_000);
  });

  it('IMS/IMC toggling under ITR: at most one MSI per ITR window', () => {
    const f = new E1000Fixture();
    f.w32(REG.ITR, 100); // 25600 cycles
    f.w32(REG.ICS, ICR.RXT0);
    for (let i = 0; i < 10_000; i++) {
      f.w32(REG.IMS, ICR.RXT0);
      f.w32(REG.IMC, ICR.RXT0);
      f.advance(10);
    }
    const cycles = f.sink.msis.map((m) => m.cycle);
    expect(cycles.length).toBeLessThanOrEqual(1 + Math.ceil(100_000 / 25_600));
    for (let i = 1; i < cycles.length; i++) expect(cycles[i] - cycles[i - 1]).toBeGreaterThanOrEqual(25_600);
  });

  it('a level interrupt never acknowledged stays one assertion', () => {
    const f = new E1000Fixture({ msi: false });
    f.w32(REG.IMS, 0xff);
    for (let i = 0; i < 1000; i++) f.w32(REG.ICS, 1 << (i % 8));
    expect(f.intx.rises).toBe(1);
  });
});

describe('debugger reads (ecosystem.md 5.2 item 8)', () => {
  it('peek and snapshot change nothing: ICR, statistics and timers stay', () => {
    const f = new E1000Fixture();
    f.setupRx(RING, 8, RX_BUFS);
    f.w32(REG.RDTR, 10);
    f.w32(REG.ICS, ICR.LSC);
    f.nic.receive(FRAME, 60);
    const snap = f.nic.snapshot();
    expect(snap.icr).toBe(ICR.LSC);
    expect(snap.rx.head).toBe(1);
    expect(snap.rx.hardwareOwned).toBe(6);
    expect(snap.timers.rdtr).toBeGreaterThan(0);
    expect(snap.mac).toBe('52:54:00:12:34:56');
    expect(snap.requesterId).toBe(0x18);
    for (let o = 0; o < 0x6000; o += 4) f.nic.peek(o, 4);
    expect(f.nic.snapshot()).toEqual(snap);
    expect(f.r32(REG.GPRC)).toBe(1);
    expect(f.r32(REG.ICR)).toBe(ICR.LSC);
  });
});

describe('random programming (fuzz)', () => {
  it('survives random ring registers, kicks and frames without exceptions or unbounded work', () => {
    const f = new E1000Fixture();
    const rng = new Rng(7);
    const regs = [REG.TDBAL, REG.TDBAH, REG.TDLEN, REG.TDH, REG.TDT, REG.TCTL, REG.RDBAL, REG.RDBAH, REG.RDLEN, REG.RDH, REG.RDT, REG.RCTL, REG.ICS, REG.IMS, REG.ITR, REG.RDTR, REG.TIDV];
    for (let i = 0; i < 3000; i++) {
      const reg = regs[rng.below(regs.length)];
      const kind = rng.below(4);
      const value = kind === 0 ? rng.u32() : kind === 1 ? rng.below(0x100) * 16 : kind === 2 ? 0xffffffff : rng.below(16);
      const descriptorsBefore = f.nic.stats.txDescriptors;
      expect(() => f.w32(reg, value)).not.toThrow();
      expect(f.nic.stats.txDescriptors - descriptorsBefore).toBeLessThanOrEqual(0xffff);
      if (rng.below(4) === 0) expect(() => f.nic.receive(FRAME, 60)).not.toThrow();
      if (rng.below(8) === 0) f.advance(rng.below(100_000));
    }
  });
});
