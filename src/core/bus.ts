// The bus contracts: a device seen as offsets and numbers, and the port (I/O) address space.
// Devices implement BusDevice; who is mapped where is decided by machine/ only.

/** Access sizes on every bus, in bytes. */
export type AccessSize = 1 | 2 | 4;

/**
 * A device as a bus sees it (STYLE rule 2): offsets relative to its window, never the CPU or RAM.
 * `peek` is the debugger's read: same value as `read`, no side effects (no read-to-clear, no FIFO pop).
 */
export interface BusDevice {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
  peek(offset: number, size: AccessSize): number;
}

/** Observes accesses nobody answers (logged as guest_errors by the caller's tracer, counted always). */
export interface UnclaimedAccessSink {
  unclaimed(space: 'port' | 'mmio', address: number, size: AccessSize, write: boolean, value: number): void;
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

/** All-ones of an access size: what an unclaimed read returns on a PC. */
export function allOnes(size: AccessSize): number {
  return ALL_ONES[size];
}

interface PortMapping {
  base: number;
  length: number;
  device: BusDevice;
}

/**
 * The 64 KiB I/O port space. Overlapping mappings are rejected when the board is built (as in
 * Firecracker's bus). Unclaimed reads return all-ones, unclaimed writes are ignored; both are counted.
 */
export class PortBus {
  private readonly owner = new Uint16Array(0x10000); // mapping index + 1, 0 = unclaimed
  private readonly mappings: PortMapping[] = [];
  unclaimedReads = 0;
  unclaimedWrites = 0;
  sink: UnclaimedAccessSink | null = null;

  map(base: number, length: number, device: BusDevice): void {
    if (base < 0 || length <= 0 || base + length > 0x10000) {
      throw new RangeError(`port range ${hex(base)}+${length} outside the I/O space`);
    }
    for (let p = base; p < base + length; p++) {
      if (this.owner[p] !== 0) {
        const other = this.mappings[this.owner[p] - 1];
        throw new RangeError(`port ${hex(p)} of ${device.name} overlaps ${other.device.name}`);
      }
    }
    this.mappings.push({ base, length, device });
    this.owner.fill(this.mappings.length, base, base + length);
  }

  read(port: number, size: AccessSize): number {
    const m = this.owner[port & 0xffff];
    if (m === 0) {
      this.unclaimedReads++;
      this.sink?.unclaimed('port', port, size, false, 0);
      return ALL_ONES[size];
    }
    const mapping = this.mappings[m - 1];
    return mapping.device.read(port - mapping.base, size);
  }

  write(port: number, size: AccessSize, value: number): void {
    const m = this.owner[port & 0xffff];
    if (m === 0) {
      this.unclaimedWrites++;
      this.sink?.unclaimed('port', port, size, true, value);
      return;
    }
    const mapping = this.mappings[m - 1];
    mapping.device.write(port - mapping.base, size, value);
  }

  peek(port: number, size: AccessSize): number {
    const m = this.owner[port & 0xffff];
    if (m === 0) return ALL_ONES[size];
    const mapping = this.mappings[m - 1];
    return mapping.device.peek(port - mapping.base, size);
  }

  deviceAt(port: number): BusDevice | null {
    const m = this.owner[port & 0xffff];
    return m === 0 ? null : this.mappings[m - 1].device;
  }
}

export function hex(n: number, width = 0): string {
  return '0x' + (n >>> 0).toString(16).padStart(width, '0');
}
