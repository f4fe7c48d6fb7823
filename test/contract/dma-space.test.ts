// The DmaSpace contract (test/contract/dma-space.ts) on every DMA space: IdentityDma, and VtdUnit with
// translation off (identity over RAM) and on (an identity-mapped window, the page after it unmapped).

import { PAGE_SIZE, PhysicalMemory } from '../../src/core/physical-memory.js';
import { IdentityDma } from '../../src/devices/iommu/identity-dma.js';
import { NIC, RecordingDevice, RecordingMsiSink, VtdFixture } from '../devices/iommu/vtd-fixture.js';
import { type DmaSubject, dmaSpaceContract } from './dma-space.js';

const MMIO_BASE = 0xfeb80000; // where VtdFixture maps its probe, too
const UNBACKED = 0x4000_0000; // neither RAM nor MMIO in any subject below

dmaSpaceContract(
  'IdentityDma',
  (): DmaSubject => {
    const memory = new PhysicalMemory(0x4_0000);
    const mmioDevice = new RecordingDevice('probe');
    memory.mapMmio(MMIO_BASE, 0x2_0000, mmioDevice);
    const msiSink = new RecordingMsiSink();
    memory.fill(0, memory.ramBytes, 0x11);
    return {
      space: new IdentityDma(memory, msiSink),
      memory,
      mappedIova: 0x3_0000, // up to the end of RAM: the next page is beyond RAM
      mappedLength: 0x1_0000,
      requesterId: NIC,
      msiSink,
      mmioDevice,
      mmioIova: MMIO_BASE,
      unbackedIova: UNBACKED,
    };
  },
);

const VTD_RAM = 0x10_0000; // tables live from VTD_RAM / 2 up (VtdFixture's allocator)

dmaSpaceContract('VtdUnit, translation off', (): DmaSubject => {
  const f = new VtdFixture(VTD_RAM);
  f.memory.fill(0, 0x8_0000, 0x22);
  f.memory.fill(0xf_0000, 0x1_0000, 0x33);
  return {
    space: f.unit,
    memory: f.memory,
    mappedIova: 0xf_0000, // up to the end of RAM
    mappedLength: 0x1_0000,
    requesterId: NIC,
    msiSink: f.sink,
    mmioDevice: f.mmio,
    mmioIova: MMIO_BASE,
    unbackedIova: UNBACKED,
  };
});

const MAPPED = 0x1_0000;
const MAPPED_LENGTH = 0x2_0000;
const MMIO_IOVA = 0x6_0000; // mapped to the probe's BAR
const UNBACKED_IOVA = 0x7_0000; // mapped to a hole

dmaSpaceContract('VtdUnit, translation on (identity-mapped window)', (): DmaSubject => {
  const f = new VtdFixture(VTD_RAM);
  f.memory.fill(0, 0x8_0000, 0x44);
  for (let p = MAPPED; p < MAPPED + MAPPED_LENGTH; p += PAGE_SIZE) f.map(NIC, p, p);
  f.map(NIC, MMIO_IOVA, MMIO_BASE);
  f.map(NIC, UNBACKED_IOVA, UNBACKED);
  f.enableTranslation();
  return {
    space: f.unit,
    memory: f.memory,
    mappedIova: MAPPED, // MAPPED + MAPPED_LENGTH is not mapped: Fault
    mappedLength: MAPPED_LENGTH,
    requesterId: NIC,
    msiSink: f.sink,
    mmioDevice: f.mmio,
    mmioIova: MMIO_IOVA,
    unbackedIova: UNBACKED_IOVA,
  };
});
