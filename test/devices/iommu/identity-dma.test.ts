// IdentityDma: what a device gets without an IOMMU: iova = physical address over RAM only, page by page,
// MMIO and unbacked targets Rejected without touching any device, MSIs forwarded to the sink.

import { describe, expect, it } from 'vitest';
import { DmaStatus } from '../../../src/core/dma.js';
import { PhysicalMemory } from '../../../src/core/physical-memory.js';
import { IdentityDma } from '../../../src/devices/iommu/identity-dma.js';
import { RecordingDevice, RecordingMsiSink } from './vtd-fixture.js';

function setup(): { memory: PhysicalMemory; sink: RecordingMsiSink; dma: IdentityDma; probe: RecordingDevice } {
  const memory = new PhysicalMemory(0x10_0000);
  const probe = new RecordingDevice('bar');
  memory.mapMmio(0xfeb80000, 0x1000, probe);
  const sink = new RecordingMsiSink();
  return { memory, sink, dma: new IdentityDma(memory, sink), probe };
}

describe('IdentityDma', () => {
  it('reads and writes RAM at the physical address, across pages', () => {
    const { memory, dma } = setup();
    const src = new Uint8Array(0x1003).map((_, i) => i & 0xff);
    expect(dma.write(0x18, 0x2ffe, src, src.length)).toBe(DmaStatus.Ok);
    expect([...memory.u8.subarray(0x2ffe, 0x2ffe + src.length)]).toEqual([...src]);
    const dst = new Uint8Array(src.length);
    expect(dma.read(0x18, 0x2ffe, dst, dst.length)).toBe(DmaStatus.Ok);
    expect([...dst]).toEqual([...src]);
    expect(dma.stats.bytesWritten).toBe(src.length);
  });

  it('MMIO targets are Rejected and the device is never called', () => {
    const { dma, probe } = setup();
    expect(dma.write(0x18, 0xfeb80000, new Uint8Array(4), 4)).toBe(DmaStatus.Rejected);
    const dst = new Uint8Array(4);
    expect(dma.read(0x18, 0xfeb80000, dst, 4)).toBe(DmaStatus.Rejected);
    expect([...dst]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(probe.accesses).toEqual([]);
    expect(dma.stats.rejected).toBe(2);
  });

  it('a transfer running off the end of RAM writes the RAM pages and stops', () => {
    const { memory, dma } = setup();
    expect(dma.write(0x18, 0xff000, new Uint8Array(0x2000).fill(9), 0x2000)).toBe(DmaStatus.Rejected);
    expect(memory.u8[0xfffff]).toBe(9);
    expect(memory.unclaimedWrites).toBe(0);
  });

  it('addresses above 4 GiB are Rejected, never wrapped', () => {
    const { memory, dma } = setup();
    expect(dma.write(0x18, 2 ** 32 + 0x1000, Uint8Array.of(5), 1)).toBe(DmaStatus.Rejected);
    expect(memory.u8[0x1000]).toBe(0);
  });

  it('malformed requests are Rejected', () => {
    const { dma } = setup();
    expect(dma.write(0x18, 0x1000, new Uint8Array(2), 3)).toBe(DmaStatus.Rejected);
    expect(dma.read(0x18, -1, new Uint8Array(2), 2)).toBe(DmaStatus.Rejected);
  });

  it('DMA writes to code pages notify the code-write listener', () => {
    const { memory, dma } = setup();
    const seen: number[] = [];
    memory.codeListener = { codeWritten: (gpa) => seen.push(gpa) };
    memory.codePages[3] = 1;
    dma.write(0x18, 0x3000, new Uint8Array(4), 4);
    expect(seen).toEqual([0x3000]);
  });

  it('MSIs in the interrupt window go to the sink; others are Rejected', () => {
    const { sink, dma } = setup();
    expect(dma.msi(0x18, 0xfee00000, 0x4041)).toBe(DmaStatus.Ok);
    expect(dma.msi(0x18, 0xfec00000, 0x41)).toBe(DmaStatus.Rejected);
    expect(sink.msis).toEqual([{ address: 0xfee00000, data: 0x4041 }]);
    expect(dma.stats.msisRejected).toBe(1);
  });
});
