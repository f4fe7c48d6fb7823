// The physical address space: guest RAM in one ArrayBuffer, MMIO windows, and code-write tracking.
// The CPU's TLB and decode cache sit above this; devices reach it only through a DMA space.

import { type AccessSize, type BusDevice, type UnclaimedAccessSink, allOnes, hex } from './bus.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** The most RAM one PhysicalMemory holds: 2 GiB (addresses stay non-negative 32-bit integers in the views). */
export const MAX_RAM_BYTES = 0x8000_0000;

/** Told when a write lands in a page that holds decoded instructions (self-modifying code). */
export interface CodeWriteListener {
  codeWritten(gpa: number, length: number): void;
}

interface MmioMapping {
  base: number; // inclusive, unsigned
  end: number; // exclusive, unsigned (may be 2^32)
  device: BusDevice;
}

/**
 * RAM is [0, ramBytes). MMIO windows are mapped above it (or over holes); everything else is
 * unbacked: reads return all-ones, writes are dropped, both counted (devices.md 6.1).
 */
export class PhysicalMemory {
  readonly ramBytes: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** Nonzero for a RAM page the CPU has decoded instructions from; writes there notify `codeListener`. */
  readonly codePages: Uint8Array;
  codeListener: CodeWriteListener | null = null;
  private readonly mmio: MmioMapping[] = [];
  sink: UnclaimedAccessSink | null = null;
  unclaimedReads = 0;
  unclaimedWrites = 0;

  constructor(ramBytes: number) {
    if (!Number.isInteger(ramBytes) || ramBytes < PAGE_SIZE || ramBytes % PAGE_SIZE !== 0 || ramBytes > MAX_RAM_BYTES) {
      throw new RangeError(`RAM size ${ramBytes} must be a whole number of 4 KiB pages, at most 2 GiB`);
    }
    this.ramBytes = ramBytes;
    this.buffer = new ArrayBuffer(ramBytes);
    this.u8 = new Uint8Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.codePages = new Uint8Array(ramBytes >>> PAGE_SHIFT);
  }

  /** Maps a device window; overlaps with RAM or another window are a wiring bug, rejected at build time. */
  mapMmio(base: number, length: number, device: BusDevice): void {
    const start = base >>> 0;
    const end = start + length;
    if (length <= 0 || end > 0x1_0000_0000) throw new RangeError(`MMIO window ${hex(base)}+${length} outside 4 GiB`);
    if (start < this.ramBytes) throw new RangeError(`MMIO window ${device.name} at ${hex(base)} overlaps RAM`);
    for (const m of this.mmio) {
      if (start < m.end && m.base < end) throw new RangeError(`MMIO window ${device.name} overlaps ${m.device.name}`);
    }
    this.mmio.push({ base: start, end, device });
  }

  /** The MMIO window holding gpa, or null. */
  mmioAt(gpa: number): BusDevice | null {
    const a = gpa >>> 0;
    for (let i = 0; i < this.mmio.length; i++) {
      const m = this.mmio[i];
      if (a >= m.base && a < m.end) return m.device;
    }
    return null;
  }

  isRam(gpa: number): boolean {
    return gpa >>> 0 < this.ramBytes;
  }

  /** A physical read of 1, 2 or 4 bytes that does not cross a page (callers split page crossings). */
  read(gpa: number, size: AccessSize): number {
    const a = gpa >>> 0;
    if (a + size <= this.ramBytes) {
      if (size === 4) return this.view.getInt32(a, true);
      if (size === 2) return this.view.getUint16(a, true);
      return this.u8[a];
    }
    for (let i = 0; i < this.mmio.length; i++) {
      const m = this.mmio[i];
      if (a >= m.base && a < m.end) return m.device.read(a - m.base, size);
    }
    this.unclaimedReads++;
    this.sink?.unclaimed('mmio', a, size, false, 0);
    return size === 4 ? -1 : allOnes(size);
  }

  write(gpa: number, size: AccessSize, value: number): void {
    const a = gpa >>> 0;
    if (a + size <= this.ramBytes) {
      if (this.codePages[a >>> PAGE_SHIFT] !== 0 || this.codePages[(a + size - 1) >>> PAGE_SHIFT] !== 0) {
        this.codeListener?.codeWritten(a, size);
      }
      if (size === 4) this.view.setInt32(a, value, true);
      else if (size === 2) this.view.setUint16(a, value, true);
      else this.u8[a] = value;
      return;
    }
    for (let i = 0; i < this.mmio.length; i++) {
      const m = this.mmio[i];
      if (a >= m.base && a < m.end) {
        m.device.write(a - m.base, size, value);
        return;
      }
    }
    this.unclaimedWrites++;
    this.sink?.unclaimed('mmio', a, size, true, value);
  }

  /** Debugger read: no device side effects. */
  peek(gpa: number, size: AccessSize): number {
    const a = gpa >>> 0;
    if (a + size <= this.ramBytes) {
      if (size === 4) return this.view.getUint32(a, true);
      if (size === 2) return this.view.getUint16(a, true);
      return this.u8[a];
    }
    const dev = this.mmioAt(a);
    if (dev) return dev.peek(a - (this.mmio.find((m) => m.device === dev)!.base), size);
    return allOnes(size);
  }

  /** Copies bytes into RAM (loader, DMA): bounds-checked; returns false if any byte falls outside RAM. */
  writeBytes(gpa: number, bytes: Uint8Array): boolean {
    const a = gpa >>> 0;
    if (a + bytes.length > this.ramBytes) return false;
    this.u8.set(bytes, a);
    this.notifyRange(a, bytes.length);
    return true;
  }

  /** Zero-fills RAM (loader bss): bounds-checked like writeBytes. */
  fill(gpa: number, length: number, value = 0): boolean {
    const a = gpa >>> 0;
    if (a + length > this.ramBytes) return false;
    this.u8.fill(value, a, a + length);
    this.notifyRange(a, length);
    return true;
  }

  readBytes(gpa: number, length: number): Uint8Array | null {
    const a = gpa >>> 0;
    if (a + length > this.ramBytes) return null;
    return this.u8.slice(a, a + length);
  }

  private notifyRange(a: number, length: number): void {
    if (this.codeListener === null || length === 0) return;
    for (let p = a >>> PAGE_SHIFT; p <= (a + length - 1) >>> PAGE_SHIFT; p++) {
      if (this.codePages[p] !== 0) {
        const lo = Math.max(a, p << PAGE_SHIFT);
        const hi = Math.min(a + length, (p + 1) << PAGE_SHIFT);
        this.codeListener.codeWritten(lo, hi - lo);
      }
    }
  }
}
