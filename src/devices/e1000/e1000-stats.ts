// Owns the NIC's bookkeeping: the emulator-side counters (`stats`, for `info nic` and hostile-programming tests),
// the last DMA error record, and the saturating updates of the guest-visible statistics registers (devices.md 1.2.1).

import { DmaStatus } from '../../core/dma.js';
import { E1000Reg } from './e1000-regs.js';

/** Emulator counters: plain numbers, never cleared by guest reads (only by `new`). */
export interface E1000Stats {
  // register file
  narrowAccesses: number;
  unalignedAccesses: number;
  unknownReads: number;
  unknownWrites: number;
  readOnlyWrites: number;
  resets: number;
  // interrupts
  icsWrites: number;
  interruptsSignalled: number;
  msiSent: number;
  /** MSI sends that did not become a message (bus master off, masked, faulted, rejected). */
  msiNotDelivered: number;
  intxAsserts: number;
  /** Assertions postponed by ITR (each postponement counts once). */
  throttled: number;
  // transmit
  txKicks: number;
  /** Kicks ignored because TCTL.EN or Bus Master was 0. */
  txKicksIgnored: number;
  txDescriptors: number;
  txFrames: number;
  txBytes: number;
  txContextDescriptors: number;
  txZeroLengthBuffers: number;
  txNullBuffers: number;
  /** Frames longer than the 16 KiB assembly buffer (chains without EOP included): dropped. */
  txOversizeDropped: number;
  /** Frames abandoned because a buffer read failed. */
  txBufferErrors: number;
  txNoPeer: number;
  txPeerRefused: number;
  /** Kicks that stopped at the per-kick bound (one ring's worth of descriptors). */
  txBounded: number;
  // receive
  rxFrames: number;
  rxBytes: number;
  /** Dropped: receiver disabled, link down or Bus Master off. */
  rxDisabled: number;
  rxFiltered: number;
  rxOversize: number;
  rxBadLength: number;
  /** Dropped for lack of descriptors (RXO). */
  rxNoBuffers: number;
  rxNullBuffers: number;
  rxBufferErrors: number;
  // both rings
  /** Kicks/frames refused because the ring was unusable (length 0, head or tail beyond it). */
  ringInvalid: number;
  /** A descriptor fetch or write-back failed (ring outside RAM, in MMIO, faulted by the IOMMU). */
  descriptorDmaErrors: number;
  /** Buffers whose range overlaps their own descriptor ring. */
  buffersOverlappingRing: number;
  /** Writes to RDH/TDH while the unit was enabled (the SDM allows them only while disabled). */
  headWritesWhileEnabled: number;
}

export function createStats(): E1000Stats {
  return {
    narrowAccesses: 0,
    unalignedAccesses: 0,
    unknownReads: 0,
    unknownWrites: 0,
    readOnlyWrites: 0,
    resets: 0,
    icsWrites: 0,
    interruptsSignalled: 0,
    msiSent: 0,
    msiNotDelivered: 0,
    intxAsserts: 0,
    throttled: 0,
    txKicks: 0,
    txKicksIgnored: 0,
    txDescriptors: 0,
    txFrames: 0,
    txBytes: 0,
    txContextDescriptors: 0,
    txZeroLengthBuffers: 0,
    txNullBuffers: 0,
    txOversizeDropped: 0,
    txBufferErrors: 0,
    txNoPeer: 0,
    txPeerRefused: 0,
    txBounded: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxDisabled: 0,
    rxFiltered: 0,
    rxOversize: 0,
    rxBadLength: 0,
    rxNoBuffers: 0,
    rxNullBuffers: 0,
    rxBufferErrors: 0,
    ringInvalid: 0,
    descriptorDmaErrors: 0,
    buffersOverlappingRing: 0,
    headWritesWhileEnabled: 0,
  };
}

export const enum DmaErrorKind {
  None = 0,
  TxDescriptorRead = 1,
  TxDescriptorWriteBack = 2,
  TxBufferRead = 3,
  RxDescriptorRead = 4,
  RxDescriptorWriteBack = 5,
  RxBufferWrite = 6,
}

const KIND_NAMES = ['none', 'tx descriptor read', 'tx write-back', 'tx buffer read', 'rx descriptor read', 'rx write-back', 'rx buffer write'];

/** The most recent failed DMA, updated in place (no allocation on the error path either). */
export class DmaErrorRecord {
  kind: DmaErrorKind = DmaErrorKind.None;
  address = 0;
  status: DmaStatus = DmaStatus.Ok;
  cycle = 0;
  count = 0;

  record(kind: DmaErrorKind, address: number, status: DmaStatus, cycle: number): void {
    this.kind = kind;
    this.address = address;
    this.status = status;
    this.cycle = cycle;
    this.count++;
  }

  clear(): void {
    this.kind = DmaErrorKind.None;
    this.address = 0;
    this.status = DmaStatus.Ok;
    this.cycle = 0;
  }

  describe(): string | null {
    if (this.kind === DmaErrorKind.None) return null;
    const status = this.status === DmaStatus.Fault ? 'fault' : 'rejected';
    return `${KIND_NAMES[this.kind]} at 0x${this.address.toString(16)}: ${status} (cycle ${this.cycle})`;
  }
}

// ---- guest-visible statistics registers (devices.md 1.2.1): 32-bit counters saturate, 64-bit pairs lo/hi ----

/** regs[offset >> 2] += 1, saturating at 0xFFFFFFFF (QEMU inc_reg_if_not_full). */
export function statIncrement(regs: Uint32Array, offset: E1000Reg): void {
  const i = offset >>> 2;
  if (regs[i] !== 0xffff_ffff) regs[i]++;
}

/** The 64-bit pair at lowOffset/lowOffset+4 += n (n < 2^32), saturating at 2^64 - 1. */
export function statAdd64(regs: Uint32Array, lowOffset: E1000Reg, n: number): void {
  const lo = lowOffset >>> 2;
  const sum = regs[lo] + n;
  if (sum <= 0xffff_ffff) {
    regs[lo] = sum;
    return;
  }
  if (regs[lo + 1] === 0xffff_ffff) {
    regs[lo] = 0xffff_ffff;
    return;
  }
  regs[lo] = sum - 0x1_0000_0000;
  regs[lo + 1]++;
}

/** The size histogram bucket (PRC64.. / PTC64..): =64, 65-127, 128-255, 256-511, 512-1023, 1024+ bytes. */
export function statSizeBucket(regs: Uint32Array, firstOffset: E1000Reg, size: number): void {
  let bucket = 5;
  if (size <= 64) bucket = 0;
  else if (size < 128) bucket = 1;
  else if (size < 256) bucket = 2;
  else if (size < 512) bucket = 3;
  else if (size < 1024) bucket = 4;
  statIncrement(regs, (firstOffset + 4 * bucket) as E1000Reg);
}

/** Broadcast / multicast classification of a destination address at frame[0..6). */
export function isBroadcast(frame: Uint8Array): boolean {
  return (frame[0] & frame[1] & frame[2] & frame[3] & frame[4] & frame[5]) === 0xff;
}

export function isMulticast(frame: Uint8Array): boolean {
  return (frame[0] & 1) !== 0;
}
