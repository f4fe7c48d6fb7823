// Test fixture for the VT-d unit: RAM with a page allocator, builders for root/context/second-level tables
// and IRTEs (VT-d 9.1-9.10 layouts), a recording MSI sink, and register helpers that follow the GCMD protocol.
// The unit under test is src/devices/iommu/vtd.ts; nothing here is used by src/.

import type { AccessSize, BusDevice } from '../../../src/core/bus.js';
import type { MsiSink } from '../../../src/core/dma.js';
import { PhysicalMemory } from '../../../src/core/physical-memory.js';
import { Gcmd, VtdReg } from '../../../src/devices/iommu/vtd-regs.js';
import { VtdUnit } from '../../../src/devices/iommu/vtd.js';

export const R = 1;
export const W = 2;
export const RW = R | W;
export const PS = 1 << 7;

export class RecordingMsiSink implements MsiSink {
  readonly msis: { address: number; data: number }[] = [];
  deliverMsi(address: number, data: number): void {
    this.msis.push({ address, data });
  }
}

/** A BusDevice that records every access: mapped in MMIO to prove DMA never reaches a device. */
export class RecordingDevice implements BusDevice {
  readonly accesses: string[] = [];
  constructor(readonly name: string) {}
  read(offset: number, size: AccessSize): number {
    this.accesses.push(`r${offset}/${size}`);
    return 0;
  }
  write(offset: number, size: AccessSize, value: number): void {
    this.accesses.push(`w${offset}/${size}=${value}`);
  }
  peek(): number {
    return 0;
  }
}

export interface MapOptions {
  perm?: number;
  /** 3 (AW = 1, 39-bit) or 4 (AW = 2, 48-bit). */
  levels?: 3 | 4;
  /** Map a 2 MiB page (iova and hpa 2 MiB aligned). */
  large?: boolean;
  did?: number;
  fpd?: boolean;
}

export class VtdFixture {
  readonly memory: PhysicalMemory;
  readonly sink = new RecordingMsiSink();
  readonly unit: VtdUnit;
  readonly mmio = new RecordingDevice('mmio-probe');
  /** Bump allocator for table pages, from the middle of RAM upwards (data pages live below). */
  private nextPage: number;
  readonly root: number;
  readonly irt: number;

  constructor(ramBytes = 0x0200_0000) {
    this.memory = new PhysicalMemory(ramBytes);
    this.nextPage = ramBytes / 2;
    this.memory.mapMmio(0xfeb80000, 0x20000, this.mmio); // a NIC-like BAR
    this.unit = new VtdUnit(this.memory, this.sink);
    this.root = this.page();
    this.irt = this.page();
  }

  page(): number {
    const p = this.nextPage;
    this.nextPage += 0x1000;
    this.memory.fill(p, 0x1000, 0);
    return p;
  }

  // ---- registers ----
  r32(offset: number): number {
    return this.unit.registers.read(offset, 4);
  }
  w32(offset: number, value: number): void {
    this.unit.registers.write(offset, 4, value >>> 0);
  }
  w64(offset: number, hi: number, lo: number): void {
    this.w32(offset, lo);
    this.w32(offset + 4, hi);
  }
  /** GCMD protocol (devices.md 3.3): keep the persistent status bits, set or clear one command. */
  gcmd(bit: number, on = true): void {
    const keep = this.r32(VtdReg.GSTS) & 0x96ffffff;
    this.w32(VtdReg.GCMD, on ? keep | bit : keep & ~bit);
  }
  /** RTADDR + SRTP + TE, the kvm-unit-tests order. */
  enableTranslation(): void {
    this.w64(VtdReg.RTADDR, 0, this.root);
    this.gcmd(Gcmd.SRTP);
    this.gcmd(Gcmd.TE);
  }
  /** IRTA (S = 0xF: 65536 entries) + SIRTP + IRE. */
  enableRemapping(s = 0xf): void {
    this.w64(VtdReg.IRTA, 0, this.irt | s);
    this.gcmd(Gcmd.SIRTP);
    this.gcmd(Gcmd.IRE);
  }
  unmaskFaults(): void {
    this.w32(VtdReg.FEADDR, 0xfee00000);
    this.w32(VtdReg.FEDATA, 0xec);
    this.w32(VtdReg.FECTL, 0);
  }
  frcd(n: number): { lo: number; hi: number; sid: number; top: number; reason: number; read: boolean; f: boolean } {
    const base = VtdReg.FRCD + 16 * n;
    const top = this.r32(base + 12);
    return {
      lo: this.r32(base),
      hi: this.r32(base + 4),
      sid: this.r32(base + 8) & 0xffff,
      top,
      reason: top & 0xff,
      read: ((top >>> 30) & 1) === 1,
      f: top >>> 31 === 1,
    };
  }
  clearFrcd(n: number): void {
    this.w32(VtdReg.FRCD + 16 * n + 12, 0x80000000);
  }

  // ---- tables ----
  q64(addr: number, hi: number, lo: number): void {
    this.memory.write(addr, 4, lo | 0);
    this.memory.write(addr + 4, 4, hi | 0);
  }
  qlo(addr: number): number {
    return this.memory.read(addr, 4) >>> 0;
  }

  /** The context entry for sid, creating the root entry's context table when needed. Returns its address. */
  contextEntry(sid: number): number {
    const re = this.root + (sid >>> 8) * 16;
    if ((this.qlo(re) & 1) === 0) this.q64(re, 0, this.page() | 1);
    return (this.qlo(re) & ~0xfff) + (sid & 0xff) * 16;
  }

  /** Writes a present legacy context entry (TT = 00 unless given) with a fresh SLPT root; returns the root. */
  context(sid: number, o: { levels?: 3 | 4; did?: number; fpd?: boolean; tt?: number } = {}): number {
    const ce = this.contextEntry(sid);
    if ((this.qlo(ce) & 1) !== 0) return this.qlo(ce) & ~0xfff;
    const slpt = this.page();
    const aw = (o.levels ?? 3) - 2;
    this.q64(ce, 0, slpt | ((o.tt ?? 0) << 2) | (o.fpd ? 2 : 0) | 1);
    this.q64(ce + 8, 0, ((o.did ?? sid) << 8) | aw);
    return slpt;
  }

  /** Maps one 4 KiB (or 2 MiB) page for sid; intermediate entries are R|W. Returns the leaf PTE address. */
  map(sid: number, iova: number, hpa: number, o: MapOptions = {}): number {
    const levels = o.levels ?? 3;
    let table = this.context(sid, { levels, did: o.did, fpd: o.fpd });
    const stop = o.large ? 2 : 1;
    for (let level = levels; level > stop; level--) {
      const e = table + index(iova, level) * 8;
      if ((this.qlo(e) & RW) === 0) this.q64(e, 0, this.page() | RW);
      table = this.qlo(e) & ~0xfff;
    }
    const leaf = table + index(iova, stop) * 8;
    this.q64(leaf, 0, hpa | (o.perm ?? RW) | (o.large ? PS : 0));
    return leaf;
  }

  /** Address of the SL entry at `level` for iova (tables must exist). */
  entryAt(sid: number, iova: number, level: number): number {
    const ce = this.contextEntry(sid);
    const levels = (this.qlo(ce + 8) & 7) + 2;
    let table = this.qlo(ce) & ~0xfff;
    for (let l = levels; l > level; l--) table = this.qlo(table + index(iova, l) * 8) & ~0xfff;
    return table + index(iova, level) * 8;
  }

  /** An IRTE: present, fixed delivery, edge, physical destination APIC ID in DST[15:8]. */
  irte(index: number, vector: number, o: { dest?: number; sid?: number; svt?: number; sq?: number; tm?: number; fpd?: boolean; lo?: number; hi?: number } = {}): void {
    const a = this.irt + index * 16;
    const lo = o.lo ?? (1 | (o.fpd ? 2 : 0) | ((o.tm ?? 0) << 4) | (vector << 16));
    this.memory.write(a, 4, lo | 0);
    this.memory.write(a + 4, 4, (o.dest ?? 0) << 8);
    this.memory.write(a + 8, 4, o.hi ?? ((o.sid ?? 0) | ((o.sq ?? 0) << 16) | ((o.svt ?? 0) << 18)));
    this.memory.write(a + 12, 4, 0);
  }
}

export function index(iova: number, level: number): number {
  return Math.floor(iova / 2 ** (12 + 9 * (level - 1))) % 512;
}

/** Remappable-format MSI address for an IRT index (devices.md 3.8). */
export function remappableAddress(index: number, shv = false): number {
  return (0xfee00000 | ((index & 0x7fff) << 5) | (1 << 4) | (shv ? 1 << 3 : 0) | ((index >>> 15) << 2)) >>> 0;
}

export const NIC = 0x0018; // 00:03.0
export const OTHER = 0x0020; // 00:04.0
