// VT-d queued invalidation: descriptors run when IQT moves, invalidation-wait status writes and completion
// events, IQE for bad descriptors, and the queue-based IOTLB invalidation taking effect.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { Gcmd, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { NIC, RW, VtdFixture } from './vtd-fixture.js';

function queued(): { f: VtdFixture; queue: number; submit(...descs: [number, number, number, number][]): void } {
  const f = new VtdFixture();
  const queue = f.page(); // QS = 0: 256 descriptors of 16 bytes
  f.w64(VtdReg.IQA, 0, queue);
  f.w64(VtdReg.IQT, 0, 0);
  f.gcmd(Gcmd.QIE);
  let tail = 0;
  const submit = (...descs: [number, number, number, number][]) => {
    for (const d of descs) {
      for (let i = 0; i < 4; i++) f.memory.write(queue + tail * 16 + 4 * i, 4, d[i] | 0);
      tail = (tail + 1) % 256;
    }
    f.w64(VtdReg.IQT, 0, tail << 4);
  };
  return { f, queue, submit };
}

const waitSW = (status: number, addr: number): [number, number, number, number] => [5 | (1 << 5), status, addr, 0];

describe('VT-d queued invalidation', () => {
  it('QIE sets QIES and resets IQH; a wait descriptor writes its status word; IQH follows IQT', () => {
    const { f, submit } = queued();
    expect(f.r32(VtdReg.GSTS) & Gcmd.QIE).not.toBe(0);
    submit([2 | (1 << 4), 0, 0, 0], waitSW(0x1234_5678, 0x9000));
    expect(f.memory.read(0x9000, 4) >>> 0).toBe(0x1234_5678);
    expect(f.r32(VtdReg.IQH)).toBe(2 << 4);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
  });

  it('an IOTLB descriptor (domain-selective) makes a changed PTE take effect', () => {
    const { f, submit } = queued();
    const leaf = f.map(NIC, 0x1000, 0x10_0000, { did: 9 });
    f.enableTranslation();
    f.unit.write(NIC, 0x1000, Uint8Array.of(1), 1);
    f.q64(leaf, 0, 0x11_0000 | RW);
    submit([2 | (2 << 4) | (9 << 16), 0, 0, 0], waitSW(1, 0x9000));
    expect(f.unit.write(NIC, 0x1000, Uint8Array.of(2), 1)).toBe(DmaStatus.Ok);
    expect(f.memory.u8[0x11_0000]).toBe(2);
  });

  it('a page-selective IOTLB descriptor too', () => {
    const { f, submit } = queued();
    const leaf = f.map(NIC, 0x5000, 0x10_0000, { did: 9 });
    f.enableTranslation();
    f.unit.write(NIC, 0x5000, Uint8Array.of(1), 1);
    f.q64(leaf, 0, 0x11_0000 | RW);
    submit([2 | (3 << 4) | (9 << 16), 0, 0x5000, 0]);
    f.unit.write(NIC, 0x5000, Uint8Array.of(2), 1);
    expect(f.memory.u8[0x11_0000]).toBe(2);
  });

  it('a wait with IF sets ICS.IWC and, once unmasked, sends the completion MSI; clearing IWC clears IP', () => {
    const { f, submit } = queued();
    f.w32(VtdReg.IEADDR, 0xfee00000);
    f.w32(VtdReg.IEDATA, 0x99);
    submit([5 | (1 << 4), 0, 0, 0]);
    expect(f.r32(VtdReg.ICS)).toBe(1);
    expect(f.r32(VtdReg.IECTL)).toBe(0xc0000000);
    f.w32(VtdReg.IECTL, 0);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0x99 }]);
    f.w32(VtdReg.ICS, 1);
    expect(f.r32(VtdReg.ICS)).toBe(0);
  });

  it('an invalid descriptor sets FSTS.IQE (fault event) and stops with IQH at it', () => {
    const { f, queue, submit } = queued();
    f.unmaskFaults();
    submit(waitSW(7, 0x9000), [3, 0, 0, 0], waitSW(8, 0x9000)); // type 3: device IOTLB, not supported
    expect(f.r32(VtdReg.FSTS) & (1 << 4)).not.toBe(0);
    expect(f.r32(VtdReg.IQH)).toBe(1 << 4);
    expect(f.memory.read(0x9000, 4)).toBe(7);
    expect(f.sink.msis).toEqual([{ address: 0xfee00000, data: 0xec }]);
    // Software replaces the bad descriptor, clears IQE and writes the tail again: processing resumes at IQH.
    f.memory.write(queue + 16, 4, 2 | (1 << 4));
    f.w32(VtdReg.FSTS, 1 << 4);
    expect(f.r32(VtdReg.FSTS)).toBe(0);
    f.w64(VtdReg.IQT, 0, 3 << 4);
    expect(f.r32(VtdReg.IQH)).toBe(3 << 4);
    expect(f.memory.read(0x9000, 4)).toBe(8);
    expect(f.unit.snapshot().queue.errors).toBe(1);
  });

  it('a tail beyond the queue size is an IQE', () => {
    const { f } = queued();
    f.w64(VtdReg.IQT, 0, 0x7fff0);
    expect(f.r32(VtdReg.FSTS) & (1 << 4)).not.toBe(0);
  });

  it('QIE can be cleared when the queue is idle', () => {
    const { f, submit } = queued();
    submit(waitSW(1, 0x9000));
    f.gcmd(Gcmd.QIE, false);
    expect(f.r32(VtdReg.GSTS) & Gcmd.QIE).toBe(0);
  });
});
