// Owns the 8086:100E NIC as a whole: its PCI function (BAR0 registers, BAR1 I/O window, MSI), the register file with
// sparse read/write handler tables (as QEMU's e1000.c), CTRL.RST, link state, snapshot. Leaves rings/IRQs to the units.

import { type AccessSize, type BusDevice, allOnes } from '../../core/bus.js';
import type { DmaSpace } from '../../core/dma.js';
import type { EthernetPort } from '../../core/ethernet.js';
import type { IrqLine } from '../../core/irq.js';
import type { Scheduler } from '../../core/scheduler.js';
import { PciFunction } from '../pci/pci-function.js';
import { E1000Eeprom, formatMac, parseMac } from './e1000-eeprom.js';
import { E1000Interrupts } from './e1000-interrupts.js';
import { E1000Phy } from './e1000-phy.js';
import {
  Ctrl,
  DELAY_MASK,
  E1000Reg,
  E1000_IO_SIZE,
  E1000_MMIO_SIZE,
  E1000_REG_COUNT,
  Icr,
  MTA_ENTRIES,
  Mdic,
  RAH_AV,
  RAH_WRITABLE,
  RA_PAIRS,
  RESET_VALUES,
  RING_INDEX_MASK,
  RING_LEN_MASK,
  Rctl,
  STATS_64_HIGH,
  STORE_REGISTERS,
  Status,
  Tctl,
  VFTA_ENTRIES,
} from './e1000-regs.js';
import type { RingSnapshot } from './e1000-ring.js';
import { E1000Rx, rxBufferSize } from './e1000-rx.js';
import { DmaErrorRecord, type E1000Stats, createStats } from './e1000-stats.js';
import { E1000Tx } from './e1000-tx.js';

export const E1000_VENDOR_ID = 0x8086;
export const E1000_DEVICE_ID = 0x100e;
export const E1000_DEFAULT_MAC = '52:54:00:12:34:56';

export interface E1000Options {
  scheduler: Scheduler;
  /** Every descriptor and buffer access, and the MSI write, go through this space with the function's requester ID. */
  dma: DmaSpace;
  /** The other end of the wire; may be attached later with `attachPeer`. */
  peer?: EthernetPort | null;
  /** "52:54:00:12:34:56" or 6 bytes. */
  mac?: string | Uint8Array;
  /** The INTA# line, if the board routes one. */
  intx?: IrqLine | null;
  name?: string;
}

export interface E1000Snapshot {
  name: string;
  mac: string;
  requesterId: number;
  busMaster: boolean;
  msiEnabled: boolean;
  link: boolean;
  ctrl: number;
  status: number;
  rctl: number;
  tctl: number;
  icr: number;
  ims: number;
  pending: number;
  asserted: boolean;
  itr: number;
  throttleUntil: number;
  delays: { rdtr: number; radv: number; tidv: number; tadv: number };
  /** Timer deadlines in cycles, -1 when idle. */
  timers: { itr: number; rdtr: number; radv: number; tidv: number; tadv: number };
  rx: RingSnapshot & { enabled: boolean; bufferSize: number };
  tx: RingSnapshot & { enabled: boolean; assembling: number };
  lastDmaError: string | null;
  stats: E1000Stats;
}

type Reader = (nic: E1000, index: number) => number;
type Writer = (nic: E1000, index: number, value: number) => void;

const R = (offset: E1000Reg): number => offset >>> 2;

/**
 * The 82540EM-like NIC. BAR0 is this object (a BusDevice over 128 KiB): accesses are meant to be aligned
 * dwords; a narrower or unaligned access acts on the dword holding its first byte (a read returns that
 * dword's bytes, a write is a dword write of the value shifted into place, other bytes zero: QEMU's rule)
 * and is counted. Unknown offsets read 0 and ignore writes (counted).
 */
export class E1000 implements BusDevice, EthernetPort {
  readonly name: string;
  readonly pci: PciFunction;
  readonly mac: Uint8Array;
  /** The MAC register file, index = offset >> 2. Handlers and units keep their registers here. */
  readonly regs = new Uint32Array(E1000_REG_COUNT);
  readonly stats: E1000Stats = createStats();
  readonly lastDmaError = new DmaErrorRecord();
  readonly eeprom: E1000Eeprom;
  readonly phy = new E1000Phy();
  readonly interrupts: E1000Interrupts;
  readonly tx: E1000Tx;
  readonly rx: E1000Rx;
  readonly io: E1000IoWindow;
  /**
   * Told when software hands the receiver descriptors (RDT write) or (re)enables it (RCTL write with EN), so a
   * link peer that holds frames back can retry (QEMU flushes its queue at the same points). Null: nobody listens.
   */
  receiveReady: (() => void) | null = null;
  private linkUp = true;

  constructor(options: E1000Options) {
    this.name = options.name ?? 'e1000';
    const mac = options.mac ?? E1000_DEFAULT_MAC;
    this.mac = typeof mac === 'string' ? parseMac(mac) : Uint8Array.from(mac.subarray(0, 6));
    if (this.mac.length !== 6) throw new RangeError(`${this.name}: MAC address needs 6 bytes`);
    this.pci = new PciFunction({
      name: this.name,
      vendorId: E1000_VENDOR_ID,
      deviceId: E1000_DEVICE_ID,
      revision: 0x03,
      classCode: 0x020000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 1,
      dma: options.dma,
      intx: options.intx ?? null,
    });
    this.io = new E1000IoWindow(this);
    this.pci.addBar(0, { kind: 'memory', size: E1000_MMIO_SIZE, region: this });
    this.pci.addBar(1, { kind: 'io', size: E1000_IO_SIZE, region: this.io });
    this.pci.addMsi();
    this.eeprom = new E1000Eeprom(this.mac, E1000_DEVICE_ID);
    const scheduler = options.scheduler;
    const now = (): number => scheduler.now;
    this.interrupts = new E1000Interrupts(this.regs, scheduler, this.pci, this.stats, this.name);
    this.tx = new E1000Tx(this.regs, options.dma, this.pci, this.interrupts, this.stats, this.lastDmaError, now);
    this.rx = new E1000Rx(this.regs, options.dma, this.pci, this.interrupts, this.stats, this.lastDmaError, now);
    this.tx.peer = options.peer ?? null;
    this.resetRegisters();
  }

  attachPeer(peer: EthernetPort | null): void {
    this.tx.peer = peer;
  }

  // ---- EthernetPort: a frame arrives from the wire ----

  receive(frame: Uint8Array, length: number): boolean {
    return this.rx.receive(frame, length);
  }

  // ---- BusDevice: BAR0 ----

  read(offset: number, size: AccessSize): number {
    if (!(offset >= 0 && offset < E1000_MMIO_SIZE)) {
      this.stats.unknownReads++;
      return 0;
    }
    const index = offset >>> 2;
    const shift = (offset & 3) << 3;
    const reader = READERS[index];
    let value: number;
    if (reader === null) {
      this.stats.unknownReads++;
      value = 0;
    } else {
      value = reader(this, index);
    }
    if (size === 4 && shift === 0) return value >>> 0;
    this.countOddAccess(offset, size);
    return (value >>> shift) & allOnes(size);
  }

  peek(offset: number, size: AccessSize): number {
    if (!(offset >= 0 && offset < E1000_MMIO_SIZE)) return 0;
    const index = offset >>> 2;
    const peeker = PEEKERS[index];
    const value = peeker === null ? 0 : peeker(this, index);
    return ((value >>> ((offset & 3) << 3)) & allOnes(size)) >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (!(offset >= 0 && offset < E1000_MMIO_SIZE)) {
      this.stats.unknownWrites++;
      return;
    }
    const index = offset >>> 2;
    const shift = (offset & 3) << 3;
    if (size !== 4 || shift !== 0) this.countOddAccess(offset, size);
    const dword = ((value & allOnes(size)) << shift) >>> 0;
    const writer = WRITERS[index];
    if (writer === null) this.stats.unknownWrites++;
    else writer(this, index, dword);
  }

  // ---- board-level controls ----

  /** The link partner appears or goes away: STATUS.LU follows and LSC is raised (devices.md 1.3.2). */
  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    const status = R(E1000Reg.STATUS);
    this.regs[status] = up ? this.regs[status] | Status.LU : this.regs[status] & ~Status.LU;
    this.interrupts.raise(Icr.LSC);
  }

  /**
   * CTRL.RST (devices.md 1.3.1 recommendation): every MAC register back to its reset value, rings, timers,
   * ICR and IMS cleared, RAL0/RAH0 reloaded from the EEPROM; PCI configuration and the PHY are untouched and
   * the link stays as it is.
   */
  reset(): void {
    this.stats.resets++;
    this.resetRegisters();
  }

  /** For `info nic`: registers, rings, pending work. No side effects. */
  snapshot(): E1000Snapshot {
    const r = this.regs;
    const rctl = r[R(E1000Reg.RCTL)];
    const tctl = r[R(E1000Reg.TCTL)];
    const deadline = (t: { deadline: number }): number => t.deadline;
    const it = this.interrupts;
    return {
      name: this.name,
      mac: formatMac(this.mac),
      requesterId: this.pci.requesterId,
      busMaster: this.pci.busMasterEnabled,
      msiEnabled: this.pci.msi !== null && this.pci.msi.enabled,
      link: this.linkUp,
      ctrl: r[R(E1000Reg.CTRL)],
      status: r[R(E1000Reg.STATUS)],
      rctl,
      tctl,
      icr: r[R(E1000Reg.ICR)],
      ims: r[R(E1000Reg.IMS)],
      pending: it.pending,
      asserted: it.asserted,
      itr: r[R(E1000Reg.ITR)],
      throttleUntil: it.throttleUntil,
      delays: {
        rdtr: r[R(E1000Reg.RDTR)],
        radv: r[R(E1000Reg.RADV)],
        tidv: r[R(E1000Reg.TIDV)],
        tadv: r[R(E1000Reg.TADV)],
      },
      timers: {
        itr: deadline(it.itrTimer),
        rdtr: deadline(it.rdtrTimer),
        radv: deadline(it.radvTimer),
        tidv: deadline(it.tidvTimer),
        tadv: deadline(it.tadvTimer),
      },
      rx: { ...this.rx.ring.snapshot(), enabled: (rctl & Rctl.EN) !== 0, bufferSize: rxBufferSize(rctl) },
      tx: { ...this.tx.ring.snapshot(), enabled: (tctl & Tctl.EN) !== 0, assembling: this.tx.frameLength },
      lastDmaError: this.lastDmaError.describe(),
      stats: { ...this.stats },
    };
  }

  private resetRegisters(): void {
    this.regs.fill(0);
    for (const [offset, value] of RESET_VALUES) this.regs[R(offset)] = value;
    if (!this.linkUp) this.regs[R(E1000Reg.STATUS)] &= ~Status.LU;
    const m = this.mac;
    this.regs[R(E1000Reg.RAL0)] = (m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24)) >>> 0;
    this.regs[R(E1000Reg.RAH0)] = (m[4] | (m[5] << 8) | RAH_AV) >>> 0;
    this.interrupts.reset();
    this.tx.reset();
    this.eeprom.reset();
  }

  private countOddAccess(offset: number, size: AccessSize): void {
    if ((offset & 3) + size > 4) this.stats.unalignedAccesses++;
    else this.stats.narrowAccesses++;
  }
}

/**
 * BAR1 (devices.md 1.1): IOADDR at +0 selects a BAR0 offset, IODATA at +4 reads or writes that register
 * (the 8254x indirect I/O window). Other offsets read 0.
 */
export class E1000IoWindow implements BusDevice {
  readonly name: string;
  ioAddress = 0;

  constructor(private readonly nic: E1000) {
    this.name = `${nic.name}-io`;
  }

  read(offset: number, size: AccessSize): number {
    return this.access(offset, size, true);
  }

  peek(offset: number, size: AccessSize): number {
    return this.access(offset, size, false);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset === 0 && size === 4) this.ioAddress = value & (E1000_MMIO_SIZE - 4);
    else if (offset === 4 && size === 4) this.nic.write(this.ioAddress, 4, value);
  }

  private access(offset: number, size: AccessSize, sideEffects: boolean): number {
    if (offset === 0 && size === 4) return this.ioAddress >>> 0;
    if (offset === 4 && size === 4) return sideEffects ? this.nic.read(this.ioAddress, 4) : this.nic.peek(this.ioAddress, 4);
    return 0;
  }
}

// ---- the handler tables (QEMU's macreg_readops / macreg_writeops), built once ----

const READERS = new Array<Reader | null>(E1000_REG_COUNT).fill(null);
const PEEKERS = new Array<Reader | null>(E1000_REG_COUNT).fill(null);
const WRITERS = new Array<Writer | null>(E1000_REG_COUNT).fill(null);
const WRITE_MASK = new Uint32Array(E1000_REG_COUNT);

const plain: Reader = (nic, i) => nic.regs[i];
const zero: Reader = () => 0;
const store: Writer = (nic, i, v) => {
  nic.regs[i] = (v & WRITE_MASK[i]) >>> 0;
};
const readOnly: Writer = (nic) => {
  nic.stats.readOnlyWrites++;
};

function define(offset: E1000Reg, read: Reader, write: Writer, mask = 0xffff_ffff, peek: Reader = read): void {
  const i = R(offset);
  READERS[i] = read;
  PEEKERS[i] = peek;
  WRITERS[i] = write;
  WRITE_MASK[i] = mask;
}

/** A ring-index register (RDH/RDT/TDH/TDT): 16 bits. Heads are hardware-owned: a write while enabled is counted. */
function headWriter(enableReg: E1000Reg, enableBit: number): Writer {
  const e = R(enableReg);
  return (nic, i, v) => {
    if ((nic.regs[e] & enableBit) !== 0) nic.stats.headWritesWhileEnabled++;
    nic.regs[i] = v & RING_INDEX_MASK;
  };
}

for (const [offset, mask] of STORE_REGISTERS) define(offset, plain, store, mask);

define(
  E1000Reg.CTRL,
  plain,
  (nic, i, v) => {
    if ((v & Ctrl.RST) !== 0) nic.reset();
    else nic.regs[i] = v >>> 0;
  },
);
define(E1000Reg.STATUS, plain, readOnly);
define(E1000Reg.EECD, (nic) => nic.eeprom.eecdValue(), (nic, _i, v) => nic.eeprom.eecdWrite(v));
define(E1000Reg.EERD, (nic, i) => nic.eeprom.eerdValue(nic.regs[i]), store, 0x0000_ff01);
define(E1000Reg.MDIC, plain, (nic, i, v) => {
  nic.regs[i] = nic.phy.command(v);
  if ((v & Mdic.INT) !== 0) nic.interrupts.raise(Icr.MDAC);
});
define(
  E1000Reg.ICR,
  (nic) => nic.interrupts.readAndClear(),
  (nic, _i, v) => nic.interrupts.clearCauses(v),
  0xffff_ffff,
  plain,
);
// ICS is write-only; QEMU answers a read with ICR, without clearing it (devices.md 1.2).
define(E1000Reg.ICS, (nic) => nic.regs[R(E1000Reg.ICR)], (nic, _i, v) => {
  nic.stats.icsWrites++;
  nic.interrupts.raise(v);
});
define(E1000Reg.IMS, plain, (nic, _i, v) => nic.interrupts.setMask(v));
define(E1000Reg.IMC, zero, (nic, _i, v) => nic.interrupts.clearMask(v));
define(E1000Reg.ITR, plain, (nic, _i, v) => nic.interrupts.setThrottle(v));
define(E1000Reg.RCTL, plain, (nic, i, v) => {
  nic.regs[i] = v & 0x07ff_fffe;
  if ((v & Rctl.EN) !== 0) nic.receiveReady?.();
});
define(E1000Reg.TCTL, plain, (nic, i, v) => {
  nic.regs[i] = v >>> 0;
  nic.tx.kick();
});
define(E1000Reg.RDLEN, plain, store, RING_LEN_MASK);
define(E1000Reg.TDLEN, plain, store, RING_LEN_MASK);
define(E1000Reg.RDH, plain, headWriter(E1000Reg.RCTL, Rctl.EN));
define(E1000Reg.TDH, plain, headWriter(E1000Reg.TCTL, Tctl.EN));
define(E1000Reg.RDT, plain, (nic, i, v) => {
  nic.regs[i] = v & RING_INDEX_MASK;
  nic.receiveReady?.();
});
define(E1000Reg.TDT, plain, (nic, i, v) => {
  nic.regs[i] = v & RING_INDEX_MASK;
  nic.tx.kick();
});
define(E1000Reg.RDTR, plain, (nic, _i, v) => nic.interrupts.setRxDelay(v));
define(E1000Reg.RADV, plain, store, DELAY_MASK);
define(E1000Reg.TIDV, plain, store, DELAY_MASK);
define(E1000Reg.TADV, plain, store, DELAY_MASK);
define(E1000Reg.RXCW, plain, readOnly);
for (let n = 0; n < MTA_ENTRIES; n++) define(E1000Reg.MTA + 4 * n, plain, store);
for (let n = 0; n < VFTA_ENTRIES; n++) define(E1000Reg.VFTA + 4 * n, plain, store);
for (let n = 0; n < RA_PAIRS; n++) {
  define(E1000Reg.RAL0 + 8 * n, plain, store);
  define(E1000Reg.RAH0 + 8 * n, plain, store, RAH_WRITABLE);
}

// Statistics (devices.md 1.2.1): read-to-clear; a 64-bit pair clears both halves when its high half is read and
// its low half reads without clearing (QEMU). Writes are ignored.
const readClear: Reader = (nic, i) => {
  const v = nic.regs[i];
  nic.regs[i] = 0;
  return v;
};
const readClear64: Reader = (nic, i) => {
  const v = nic.regs[i];
  nic.regs[i] = 0;
  nic.regs[i - 1] = 0;
  return v;
};
for (let offset = E1000Reg.STATS_FIRST; offset <= E1000Reg.STATS_LAST; offset += 4) {
  define(offset, readClear, readOnly, 0, plain);
}
for (const high of STATS_64_HIGH) {
  define(high, readClear64, readOnly, 0, plain);
  define(high - 4, plain, readOnly, 0, plain);
}
