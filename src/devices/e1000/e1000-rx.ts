// Owns the receive unit (devices.md 1.7.2, 1.8): receive filtering, FCS, DMA of a frame into RDH..RDT descriptors'
// buffers, write-back, RX statistics, RXO/RXDMT0. Leaves RXT0 timing to e1000-interrupts.ts, the wire to the peer.

import { type DmaSpace, DmaStatus } from '../../core/dma.js';
import { ETH_MIN_FRAME } from '../../core/ethernet.js';
import type { PciFunction } from '../pci/pci-function.js';
import { PciStatus } from '../pci/pci-regs.js';
import type { E1000Interrupts } from './e1000-interrupts.js';
import {
  Ctrl,
  DESCRIPTOR_SIZE,
  E1000Reg,
  ETH_FCS_BYTES,
  Icr,
  RAH_AV,
  RA_PAIRS,
  RING_LEN_MASK,
  RX_MAX_FRAME,
  RX_MAX_LONG_FRAME,
  Rctl,
  RxStatus,
  Status,
} from './e1000-regs.js';
import { DescriptorRing } from './e1000-ring.js';
import {
  type DmaErrorRecord,
  DmaErrorKind,
  type E1000Stats,
  isBroadcast,
  isMulticast,
  statAdd64,
  statIncrement,
  statSizeBucket,
} from './e1000-stats.js';

const CTRL = E1000Reg.CTRL >>> 2;
const STATUS = E1000Reg.STATUS >>> 2;
const RCTL = E1000Reg.RCTL >>> 2;
const RDLEN = E1000Reg.RDLEN >>> 2;
const VET = E1000Reg.VET >>> 2;
const MTA = E1000Reg.MTA >>> 2;
const VFTA = E1000Reg.VFTA >>> 2;
const RAL0 = E1000Reg.RAL0 >>> 2;

/** RCTL.BSIZE -> bytes, for BSEX = 0 and BSEX = 1 (devices.md 1.3.3; the reserved BSEX=1/00 falls back to 2048). */
const BUFFER_SIZES = [2048, 1024, 512, 256, 2048, 16384, 8192, 4096] as const;
/** RCTL.MO -> shift of the 12 hash bits out of DA[5]:DA[4] (devices.md 1.8). */
const MTA_SHIFTS = [4, 3, 2, 0] as const;

/** CRC-32 (IEEE 802.3, reflected polynomial EDB88320), table built once. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The Ethernet FCS of bytes [0, length): init FFFFFFFF, final complement; stored least-significant byte first. */
export function ethernetFcs(frame: Uint8Array, length: number): number {
  let c = 0xffffffff;
  for (let i = 0; i < length; i++) c = CRC_TABLE[(c ^ frame[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function rxBufferSize(rctl: number): number {
  return BUFFER_SIZES[((rctl >>> Rctl.BSIZE_SHIFT) & 3) | ((rctl & Rctl.BSEX) !== 0 ? 4 : 0)];
}

/**
 * The receiver. A frame is accepted only when STATUS.LU, RCTL.EN and Bus Master are set, it passes the
 * filters, and the descriptors the hardware owns can hold all of it (else RXO and MPC/RNBC, and receive
 * returns false). Work per frame is bounded by the descriptors owned when it arrived.
 */
export class E1000Rx {
  readonly ring: DescriptorRing;
  /** The frame as stored: padded to 60 bytes, plus the FCS when RCTL.SECRC = 0. */
  private readonly frame = new Uint8Array(RX_MAX_LONG_FRAME + ETH_FCS_BYTES);
  private readonly scratch = new Uint8Array(16384);
  private readonly desc = new Uint8Array(DESCRIPTOR_SIZE);
  private readonly descView = new DataView(this.desc.buffer);
  private readonly writeBack = new Uint8Array(8);

  constructor(
    private readonly regs: Uint32Array,
    private readonly dma: DmaSpace,
    private readonly pci: PciFunction,
    private readonly interrupts: E1000Interrupts,
    private readonly stats: E1000Stats,
    private readonly errors: DmaErrorRecord,
    private readonly now: () => number,
  ) {
    this.ring = new DescriptorRing(regs, E1000Reg.RDBAL, E1000Reg.RDBAH, E1000Reg.RDLEN, E1000Reg.RDH, E1000Reg.RDT);
  }

  /** EthernetPort.receive: bytes [0, length) of `frame`, without FCS. */
  receive(frame: Uint8Array, length: number): boolean {
    const regs = this.regs;
    if (!Number.isInteger(length) || length < 0 || length > frame.length) {
      this.stats.rxBadLength++;
      return false;
    }
    const rctl = regs[RCTL];
    if ((regs[STATUS] & Status.LU) === 0 || (rctl & Rctl.EN) === 0 || !this.pci.busMasterEnabled) {
      this.stats.rxDisabled++;
      return false;
    }
    // Oversize (devices.md 1.8): > 1518 without LPE unless SBP; > 16380 always (the largest buffer we keep).
    if (length > RX_MAX_LONG_FRAME || (length > RX_MAX_FRAME && (rctl & (Rctl.LPE | Rctl.SBP)) === 0)) {
      statIncrement(regs, E1000Reg.ROC);
      this.stats.rxOversize++;
      return false;
    }
    const buf = this.frame;
    for (let i = 0; i < length; i++) buf[i] = frame[i];
    let size = length;
    if (size < ETH_MIN_FRAME) {
      buf.fill(0, size, ETH_MIN_FRAME);
      size = ETH_MIN_FRAME;
    }
    if (!this.accept(buf, rctl)) {
      this.stats.rxFiltered++;
      return false;
    }
    let total = size;
    if ((rctl & Rctl.SECRC) === 0) {
      // Real hardware stores the FCS when not told to strip it; ours is computed so length and data agree.
      const fcs = ethernetFcs(buf, size);
      buf[size] = fcs;
      buf[size + 1] = fcs >>> 8;
      buf[size + 2] = fcs >>> 16;
      buf[size + 3] = fcs >>> 24;
      total += ETH_FCS_BYTES;
    }
    const ring = this.ring;
    if (!ring.load()) {
      this.stats.ringInvalid++;
      return false;
    }
    const bufferSize = rxBufferSize(rctl);
    let owned = ring.hardwareOwned;
    if (owned * bufferSize < total) return this.overrun();
    let offset = 0;
    while (offset < total) {
      if (owned === 0) return this.overrun(); // null-address descriptors used up what the frame needed
      owned--;
      const at = ring.descriptorAddress(ring.head);
      const read = this.dma.read(this.pci.requesterId, at, this.desc, DESCRIPTOR_SIZE);
      if (read !== DmaStatus.Ok) return this.fail(DmaErrorKind.RxDescriptorRead, at, read, true);
      const address = this.descView.getUint32(4, true) * 0x1_0000_0000 + this.descView.getUint32(0, true);
      let chunk = 0;
      if (address === 0) {
        this.stats.rxNullBuffers++; // skipped (QEMU): written back with DD, no data, the frame goes on
      } else {
        chunk = Math.min(bufferSize, total - offset);
        if (ring.overlaps(address, chunk)) this.stats.buffersOverlappingRing++;
        const wrote = this.dma.write(this.pci.requesterId, address, this.chunk(offset, chunk), chunk);
        if (wrote !== DmaStatus.Ok) {
          this.stats.rxBufferErrors++;
          return this.fail(DmaErrorKind.RxBufferWrite, address, wrote, false);
        }
        offset += chunk;
      }
      const wb = this.writeBack;
      wb[0] = chunk;
      wb[1] = chunk >>> 8;
      wb[2] = 0; // packet checksum: RXCSUM offload not modelled
      wb[3] = 0;
      wb[4] = RxStatus.DD | (offset >= total ? RxStatus.EOP | RxStatus.IXSM : 0);
      wb[5] = 0; // errors
      wb[6] = 0; // special (VLAN stripping not modelled)
      wb[7] = 0;
      const wrote = this.dma.write(this.pci.requesterId, at + 8, wb, 8);
      if (wrote !== DmaStatus.Ok) return this.fail(DmaErrorKind.RxDescriptorWriteBack, at + 8, wrote, true);
      ring.advance();
    }
    this.count(size, total);
    // RXDMT0 when the free descriptors fall to the RDMTS fraction of the ring (QEMU's test, devices.md 1.7.2).
    const threshold = (regs[RDLEN] & RING_LEN_MASK) >>> (((rctl >>> Rctl.RDMTS_SHIFT) & 3) + 1);
    const low = ring.hardwareOwned * DESCRIPTOR_SIZE <= threshold;
    this.interrupts.rxFrameDone(low ? Icr.RXDMT0 : 0);
    return true;
  }

  /** Receive filtering in QEMU's order (devices.md 1.8): VLAN filter, promiscuous modes, broadcast, exact, hash. */
  accept(buf: Uint8Array, rctl: number): boolean {
    const regs = this.regs;
    if ((regs[CTRL] & Ctrl.VME) !== 0 && (rctl & Rctl.VFE) !== 0 && ((buf[12] << 8) | buf[13]) === (regs[VET] & 0xffff)) {
      const vid = ((buf[14] << 8) | buf[15]) & 0xfff;
      if (((regs[VFTA + (vid >>> 5)] >>> (vid & 31)) & 1) === 0) return false;
    }
    const multicast = isMulticast(buf);
    if (multicast && (rctl & Rctl.MPE) !== 0) return true;
    if (!multicast && (rctl & Rctl.UPE) !== 0) return true;
    if ((rctl & Rctl.BAM) !== 0 && isBroadcast(buf)) return true;
    const low = (buf[0] | (buf[1] << 8) | (buf[2] << 16) | (buf[3] << 24)) >>> 0;
    const high = buf[4] | (buf[5] << 8);
    for (let n = 0; n < RA_PAIRS; n++) {
      const rah = regs[RAL0 + 2 * n + 1];
      if ((rah & RAH_AV) !== 0 && regs[RAL0 + 2 * n] === low && (rah & 0xffff) === high) return true;
    }
    const hash = (((buf[5] << 8) | buf[4]) >>> MTA_SHIFTS[(rctl >>> Rctl.MO_SHIFT) & 3]) & 0xfff;
    return ((regs[MTA + (hash >>> 5)] >>> (hash & 31)) & 1) !== 0;
  }

  /** Bytes [offset, offset + length) of the stored frame, starting at index 0 (DmaSpace writes from index 0). */
  private chunk(offset: number, length: number): Uint8Array {
    if (offset === 0) return this.frame;
    const frame = this.frame;
    const scratch = this.scratch;
    for (let i = 0; i < length; i++) scratch[i] = frame[offset + i];
    return scratch;
  }

  /** No room (devices.md 1.7.2): RXO now, RNBC and MPC counted, the frame dropped. */
  private overrun(): boolean {
    statIncrement(this.regs, E1000Reg.RNBC);
    statIncrement(this.regs, E1000Reg.MPC);
    this.stats.rxNoBuffers++;
    this.interrupts.raise(Icr.RXO);
    return false;
  }

  private fail(kind: DmaErrorKind, address: number, status: DmaStatus, descriptor: boolean): boolean {
    if (descriptor) this.stats.descriptorDmaErrors++;
    this.errors.record(kind, address, status, this.now());
    this.pci.raiseStatusErrors(PciStatus.ReceivedMasterAbort);
    return false;
  }

  /** Guest-visible RX statistics (devices.md 1.2.1): octets count the FCS whether or not it was stripped. */
  private count(size: number, total: number): void {
    const regs = this.regs;
    this.stats.rxFrames++;
    this.stats.rxBytes += total;
    statIncrement(regs, E1000Reg.TPR);
    statIncrement(regs, E1000Reg.GPRC);
    statAdd64(regs, E1000Reg.TORL, size + ETH_FCS_BYTES);
    statAdd64(regs, E1000Reg.GORCL, size + ETH_FCS_BYTES);
    statSizeBucket(regs, E1000Reg.PRC64, total);
    if (isBroadcast(this.frame)) statIncrement(regs, E1000Reg.BPRC);
    else if (isMulticast(this.frame)) statIncrement(regs, E1000Reg.MPRC);
  }
}
