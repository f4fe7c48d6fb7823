// Test fixture for the e1000: RAM behind an IdentityDma, a recording MSI sink and peer port, the NIC attached at
// PCI slot 3, and a driver's-eye helper that builds rings in RAM the way devices.md 1.11 describes.

import type { DmaSpace, MsiSink } from '../../../src/core/dma.js';
import type { EthernetPort } from '../../../src/core/ethernet.js';
import { PhysicalMemory } from '../../../src/core/physical-memory.js';
import { Scheduler } from '../../../src/core/scheduler.js';
import { E1000 } from '../../../src/devices/e1000/e1000.js';
import { IdentityDma } from '../../../src/devices/iommu/identity-dma.js';
import { PciBus } from '../../../src/devices/pci/pci-bus.js';
import { RecordingIrq } from '../../helpers/recording-irq.js';

/** Register offsets as the SDM / devices.md 1.2 give them (independent of the implementation's enum). */
export const REG = {
  CTRL: 0x0000,
  STATUS: 0x0008,
  EECD: 0x0010,
  EERD: 0x0014,
  MDIC: 0x0020,
  VET: 0x0038,
  ICR: 0x00c0,
  ITR: 0x00c4,
  ICS: 0x00c8,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  TCTL: 0x0400,
  TIPG: 0x0410,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  RDTR: 0x2820,
  RADV: 0x282c,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  TIDV: 0x3820,
  TADV: 0x382c,
  MPC: 0x4010,
  GPRC: 0x4074,
  BPRC: 0x4078,
  MPRC: 0x407c,
  GPTC: 0x4080,
  GORCL: 0x4088,
  GORCH: 0x408c,
  GOTCL: 0x4090,
  GOTCH: 0x4094,
  RNBC: 0x40a0,
  ROC: 0x40ac,
  TPR: 0x40d0,
  TPT: 0x40d4,
  MTA: 0x5200,
  RAL0: 0x5400,
  RAH0: 0x5404,
} as const;

export const ICR = { TXDW: 1, TXQE: 2, LSC: 4, RXDMT0: 0x10, RXO: 0x40, RXT0: 0x80, MDAC: 0x200 } as const;
export const TX_CMD = { EOP: 0x01, IFCS: 0x02, IC: 0x04, RS: 0x08, DEXT: 0x20, VLE: 0x40, IDE: 0x80 } as const;
/** RCTL = EN | BAM | SECRC | BSIZE=2048 | RDMTS=1/2 (devices.md 1.11). */
export const RCTL_DRIVER = 0x04008002;
export const TCTL_DRIVER = 0x000400fa;
export const RAH_AV = 0x80000000;
/** slot 3 on bus 0: requester ID 00:03.0 = 0x18. */
export const NIC_SLOT = 3;
export const NIC_RID = 0x18;
export const MSI_ADDRESS = 0xfee00000;
export const MSI_VECTOR = 0x41;

export class RecordingMsiSink implements MsiSink {
  readonly msis: { address: number; data: number; cycle: number }[] = [];
  constructor(private readonly scheduler: Scheduler) {}
  deliverMsi(address: number, data: number): void {
    this.msis.push({ address, data, cycle: this.scheduler.now });
  }
}

/** A wire end that keeps copies of what arrives. */
export class RecordingPort implements EthernetPort {
  readonly frames: Uint8Array[] = [];
  accept = true;
  receive(frame: Uint8Array, length: number): boolean {
    this.frames.push(frame.slice(0, length));
    return this.accept;
  }
}

export interface FixtureOptions {
  ramBytes?: number;
  msi?: boolean;
  busMaster?: boolean;
  frequencyHz?: number;
  /** Wraps the identity DMA space the NIC is given (to observe requester IDs, or inject faults). */
  wrapDma?: (dma: DmaSpace) => DmaSpace;
}

export class E1000Fixture {
  readonly scheduler: Scheduler;
  readonly memory: PhysicalMemory;
  readonly sink: RecordingMsiSink;
  readonly dma: IdentityDma;
  readonly peer = new RecordingPort();
  readonly intx = new RecordingIrq();
  readonly bus = new PciBus();
  readonly nic: E1000;

  constructor(options: FixtureOptions = {}) {
    this.scheduler = new Scheduler(options.frequencyHz ?? 1_000_000_000);
    this.memory = new PhysicalMemory(options.ramBytes ?? 0x10_0000);
    this.sink = new RecordingMsiSink(this.scheduler);
    this.dma = new IdentityDma(this.memory, this.sink);
    const dma = options.wrapDma ? options.wrapDma(this.dma) : this.dma;
    this.nic = new E1000({ scheduler: this.scheduler, dma, peer: this.peer, intx: this.intx });
    this.bus.attach(this.nic.pci, NIC_SLOT);
    this.nic.pci.configWrite(0x04, 2, options.busMaster === false ? 0x0002 : 0x0006);
    if (options.msi !== false) this.enableMsi(MSI_VECTOR);
  }

  enableMsi(vector: number): void {
    const pci = this.nic.pci;
    pci.configWrite(0xd4, 4, MSI_ADDRESS);
    pci.configWrite(0xd8, 4, 0);
    pci.configWrite(0xdc, 2, vector);
    pci.configWrite(0xd2, 2, pci.configRead(0xd2, 2) | 1);
  }

  r32(offset: number): number {
    return this.nic.read(offset, 4);
  }

  w32(offset: number, value: number): void {
    this.nic.write(offset, 4, value >>> 0);
  }

  /** Moves the clock to `cycle`, firing each timer at its own deadline (so timers see their exact time). */
  advanceTo(cycle: number): void {
    for (;;) {
      const next = this.scheduler.nextDeadline();
      if (next > cycle) break;
      this.scheduler.now = Math.max(this.scheduler.now, next);
      this.scheduler.runDue();
    }
    this.scheduler.now = cycle;
  }

  advance(cycles: number): void {
    this.advanceTo(this.scheduler.now + cycles);
  }

  // ---- descriptors in RAM (devices.md 1.6) ----

  writeTxDesc(ring: number, index: number, address: number, length: number, cmd: number, cso = 0, css = 0, special = 0): void {
    const v = this.memory.view;
    const at = ring + 16 * index;
    v.setUint32(at, address, true);
    v.setUint32(at + 4, 0, true);
    v.setUint32(at + 8, (length | (cso << 16) | (cmd << 24)) >>> 0, true);
    v.setUint32(at + 12, ((css << 8) | (special << 16)) >>> 0, true);
  }

  txStatus(ring: number, index: number): number {
    return this.memory.u8[ring + 16 * index + 12];
  }

  writeRxDesc(ring: number, index: number, address: number): void {
    const v = this.memory.view;
    const at = ring + 16 * index;
    v.setUint32(at, address, true);
    v.setUint32(at + 4, 0, true);
    v.setUint32(at + 8, 0, true);
    v.setUint32(at + 12, 0, true);
  }

  rxDesc(ring: number, index: number): { length: number; status: number; errors: number } {
    const at = ring + 16 * index;
    return { length: this.memory.view.getUint16(at + 8, true), status: this.memory.u8[at + 12], errors: this.memory.u8[at + 13] };
  }

  bytes(address: number, length: number): Uint8Array {
    return this.memory.u8.slice(address, address + length);
  }

  /** TX ring of `count` descriptors at `ring`, enabled (devices.md 1.11 step 8). */
  setupTx(ring: number, count: number): void {
    this.w32(REG.TDBAL, ring);
    this.w32(REG.TDBAH, 0);
    this.w32(REG.TDLEN, count * 16);
    this.w32(REG.TDH, 0);
    this.w32(REG.TDT, 0);
    this.w32(REG.TIPG, 0x00602008);
    this.w32(REG.TCTL, TCTL_DRIVER);
  }

  /** RX ring of `count` descriptors at `ring`, buffers of `bufferSize` bytes at `buffers`, tail = count - 1. */
  setupRx(ring: number, count: number, buffers: number, bufferSize = 2048, rctl = RCTL_DRIVER): void {
    for (let i = 0; i < count; i++) this.writeRxDesc(ring, i, buffers + i * bufferSize);
    this.w32(REG.RDBAL, ring);
    this.w32(REG.RDBAH, 0);
    this.w32(REG.RDLEN, count * 16);
    this.w32(REG.RDH, 0);
    this.w32(REG.RDT, count - 1);
    this.w32(REG.RCTL, rctl);
  }
}

/** A frame: destination, source 02:00:00:00:00:01, EtherType 0x0800, payload bytes seeded by `seed`. */
export function makeFrame(dst: readonly number[], length: number, seed = 1): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst.slice(0, 6), 0);
  f.set([0x02, 0, 0, 0, 0, 0x01], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  for (let i = 14; i < length; i++) f[i] = (i * 7 + seed * 13) & 0xff;
  return f;
}

export const OUR_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56] as const;
export const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] as const;

/** Copy of RAM for "nothing else changed" checks. */
export function ramImage(f: E1000Fixture): Uint8Array {
  return f.memory.u8.slice();
}

/** Byte ranges [start, end) where two RAM images differ, merged. */
export function changedRanges(before: Uint8Array, after: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < before.length; i++) {
    if (before[i] === after[i]) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** True when every changed byte lies inside one of the allowed ranges. */
export function onlyChangedWithin(before: Uint8Array, after: Uint8Array, allowed: [number, number][]): boolean {
  return changedRanges(before, after).every(([s, e]) => allowed.some(([a, b]) => s >= a && e <= b));
}
