// Owns the transmit unit (devices.md 1.7.1): a pass over TDH..TDT on a TDT/TCTL write, gathering buffers through the
// DMA space, frames out to the peer port, DD write-back, TX statistics. Leaves interrupt timing to e1000-interrupts.ts.

import { type DmaSpace, DmaStatus } from '../../core/dma.js';
import type { EthernetPort } from '../../core/ethernet.js';
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
  TX_DTYP_DATA,
  TX_DTYP_SHIFT,
  TX_MAX_FRAME,
  TX_STA_DD,
  Tctl,
  TxCmd,
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

const TCTL = E1000Reg.TCTL >>> 2;
const CTRL = E1000Reg.CTRL >>> 2;
const VET = E1000Reg.VET >>> 2;
const VLAN_TAG_BYTES = 4;

/**
 * The transmitter. Work per kick is bounded by one ring's worth of descriptors, and every buffer is read at
 * most once into a fixed 16 KiB assembly buffer, so a hostile ring (no EOP, huge lengths, wrapping
 * indices) costs at most `count` descriptor fetches and TX_MAX_FRAME bytes per frame.
 */
export class E1000Tx {
  readonly ring: DescriptorRing;
  peer: EthernetPort | null = null;
  /** The frame being assembled (+4 for an inserted VLAN tag). The peer copies it before receive returns. */
  private readonly frame = new Uint8Array(TX_MAX_FRAME + VLAN_TAG_BYTES);
  private readonly scratch = new Uint8Array(TX_MAX_FRAME);
  private readonly desc = new Uint8Array(DESCRIPTOR_SIZE);
  private readonly descView = new DataView(this.desc.buffer);
  private readonly status = new Uint8Array(4);
  frameLength = 0;
  /** The frame in assembly was abandoned (too long, or a buffer read failed): discard up to its EOP. */
  private dropping = false;
  private checksumOffload = false;
  private cso = 0;
  private css = 0;
  private insertVlan = false;
  private vlanTag = 0;
  private busy = false;

  constructor(
    private readonly regs: Uint32Array,
    private readonly dma: DmaSpace,
    private readonly pci: PciFunction,
    private readonly interrupts: E1000Interrupts,
    private readonly stats: E1000Stats,
    private readonly errors: DmaErrorRecord,
    private readonly now: () => number,
  ) {
    this.ring = new DescriptorRing(regs, E1000Reg.TDBAL, E1000Reg.TDBAH, E1000Reg.TDLEN, E1000Reg.TDH, E1000Reg.TDT);
  }

  /** TDT or TCTL written: transmit what the ring holds (synchronously, as QEMU does). */
  kick(): void {
    this.stats.txKicks++;
    if (this.busy) return; // re-entered from the peer: the running pass re-reads TDT on each descriptor
    if ((this.regs[TCTL] & Tctl.EN) === 0 || !this.pci.busMasterEnabled) {
      this.stats.txKicksIgnored++;
      return;
    }
    const ring = this.ring;
    if (!ring.load()) {
      this.stats.ringInvalid++;
      return;
    }
    this.busy = true;
    let causes = 0;
    let delayed = false;
    let processed = 0;
    while (ring.head !== ring.tail && ring.tail < ring.count) {
      if (processed === ring.count) {
        this.stats.txBounded++;
        break;
      }
      processed++;
      const at = ring.descriptorAddress(ring.head);
      const read = this.dma.read(this.pci.requesterId, at, this.desc, DESCRIPTOR_SIZE);
      if (read !== DmaStatus.Ok) {
        this.fail(DmaErrorKind.TxDescriptorRead, at, read);
        break;
      }
      const cmd = this.desc[11];
      this.consume(cmd);
      this.stats.txDescriptors++;
      if ((cmd & (TxCmd.RS | TxCmd.RPS)) !== 0) {
        // Write back STA with DD (EC/LC/TU cleared), keeping CSS and Special: bytes 12..15 (devices.md 1.7.1).
        this.status[0] = (this.desc[12] & 0xf0) | TX_STA_DD;
        this.status[1] = this.desc[13];
        this.status[2] = this.desc[14];
        this.status[3] = this.desc[15];
        const wrote = this.dma.write(this.pci.requesterId, at + 12, this.status, 4);
        if (wrote !== DmaStatus.Ok) {
          ring.advance();
          this.fail(DmaErrorKind.TxDescriptorWriteBack, at + 12, wrote);
          break;
        }
        if ((cmd & TxCmd.IDE) !== 0) delayed = true;
        else causes |= Icr.TXDW;
      }
      ring.advance();
    }
    this.busy = false;
    if (ring.head === ring.tail) causes |= Icr.TXQE;
    this.interrupts.txPassDone(causes, delayed);
  }

  /** CTRL.RST: the frame in assembly is forgotten. */
  reset(): void {
    this.endFrame();
  }

  private fail(kind: DmaErrorKind, address: number, status: DmaStatus): void {
    this.stats.descriptorDmaErrors++;
    this.errors.record(kind, address, status, this.now());
    this.pci.raiseStatusErrors(PciStatus.ReceivedMasterAbort);
  }

  /** One fetched descriptor: gather its buffer, and send the frame at EOP. */
  private consume(cmd: number): void {
    const d = this.descView;
    const dword2 = d.getUint32(8, true);
    let length: number;
    if ((cmd & TxCmd.DEXT) !== 0) {
      if (((dword2 >>> TX_DTYP_SHIFT) & 0xf) !== TX_DTYP_DATA) {
        this.stats.txContextDescriptors++; // context descriptor: offload state only, no data, no frame end
        return;
      }
      length = dword2 & 0xfffff; // extended data descriptor: gathered like a legacy one, offloads not modelled
    } else {
      length = dword2 & 0xffff;
      if ((cmd & TxCmd.IC) !== 0) {
        this.checksumOffload = true;
        this.cso = this.desc[10];
        this.css = this.desc[13];
      }
    }
    if ((cmd & TxCmd.VLE) !== 0) {
      this.insertVlan = true;
      this.vlanTag = d.getUint16(14, true);
    }
    const address = d.getUint32(4, true) * 0x1_0000_0000 + d.getUint32(0, true);
    if (length === 0) this.stats.txZeroLengthBuffers++;
    else this.gather(address, length);
    if ((cmd & TxCmd.EOP) !== 0) {
      if (!this.dropping) this.send();
      this.endFrame();
    }
  }

  private gather(address: number, length: number): void {
    if (address === 0) this.stats.txNullBuffers++;
    if (this.ring.overlaps(address, length)) this.stats.buffersOverlappingRing++;
    if (this.dropping) return;
    if (this.frameLength + length > TX_MAX_FRAME) {
      this.stats.txOversizeDropped++;
      this.dropping = true;
      return;
    }
    const first = this.frameLength === 0;
    const target = first ? this.frame : this.scratch; // DmaSpace writes from index 0: later buffers bounce
    const read = this.dma.read(this.pci.requesterId, address, target, length);
    if (read !== DmaStatus.Ok) {
      this.stats.txBufferErrors++;
      this.errors.record(DmaErrorKind.TxBufferRead, address, read, this.now());
      this.pci.raiseStatusErrors(PciStatus.ReceivedMasterAbort);
      this.dropping = true;
      return;
    }
    if (!first) {
      const frame = this.frame;
      const scratch = this.scratch;
      const base = this.frameLength;
      for (let i = 0; i < length; i++) frame[base + i] = scratch[i];
    }
    this.frameLength += length;
  }

  private send(): void {
    const frame = this.frame;
    let length = this.frameLength;
    if (length === 0) return;
    if (this.checksumOffload) insertChecksum(frame, length, this.css, this.cso);
    if (this.insertVlan && (this.regs[CTRL] & Ctrl.VME) !== 0 && length >= 12) {
      frame.copyWithin(12 + VLAN_TAG_BYTES, 12, length);
      const vet = this.regs[VET];
      frame[12] = vet >>> 8;
      frame[13] = vet;
      frame[14] = this.vlanTag >>> 8;
      frame[15] = this.vlanTag;
      length += VLAN_TAG_BYTES;
    }
    if ((this.regs[TCTL] & Tctl.PSP) !== 0 && length < ETH_MIN_FRAME) {
      frame.fill(0, length, ETH_MIN_FRAME);
      length = ETH_MIN_FRAME;
    }
    this.count(length);
    if (this.peer === null) this.stats.txNoPeer++;
    else if (!this.peer.receive(frame, length)) this.stats.txPeerRefused++;
  }

  /** Guest-visible TX statistics (devices.md 1.2.1: sizes include the FCS the wire adds). */
  private count(length: number): void {
    const regs = this.regs;
    const wire = length + ETH_FCS_BYTES;
    this.stats.txFrames++;
    this.stats.txBytes += length;
    statIncrement(regs, E1000Reg.TPT);
    statIncrement(regs, E1000Reg.GPTC);
    statAdd64(regs, E1000Reg.TOTL, wire);
    statAdd64(regs, E1000Reg.GOTCL, wire);
    statSizeBucket(regs, E1000Reg.PTC64, wire);
    if (isBroadcast(this.frame)) statIncrement(regs, E1000Reg.BPTC);
    else if (isMulticast(this.frame)) statIncrement(regs, E1000Reg.MPTC);
  }

  private endFrame(): void {
    this.frameLength = 0;
    this.dropping = false;
    this.checksumOffload = false;
    this.insertVlan = false;
  }
}

/** CMD.IC: ones-complement sum of [css, length) stored big-endian at cso (devices.md 1.6.2); skipped if out of range. */
function insertChecksum(frame: Uint8Array, length: number, css: number, cso: number): void {
  if (css >= length || cso + 2 > length) return;
  let sum = 0;
  let i = css;
  for (; i + 1 < length; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  if (i < length) sum += frame[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const value = ~sum & 0xffff || 0xffff;
  frame[cso] = value >>> 8;
  frame[cso + 1] = value;
}
