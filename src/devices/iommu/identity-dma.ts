// IdentityDma: the DMA space a device gets with no IOMMU (iova = physical address), RAM only, page by page,
// and MSI forwarding to the sink. Translation, faults and interrupt remapping are VtdUnit's (vtd.ts).

import { type DmaSpace, DmaStatus, MSI_WINDOW_BASE, MSI_WINDOW_MASK, type MsiSink } from '../../core/dma.js';
import { PAGE_SIZE, type PhysicalMemory } from '../../core/physical-memory.js';
import { copyFromRam, copyToRam, fillBlocked, inRam, validRequest } from './ram-copy.js';

/** Counters for `info dma`; plain numbers, never reset by reads. */
export interface IdentityDmaStats {
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Transfers stopped because a page was not RAM (MMIO, unbacked, the MSI window, beyond 4 GiB). */
  rejected: number;
  msis: number;
  msisRejected: number;
}

/**
 * No translation and no protection beyond "RAM only": a page outside RAM stops the transfer with Rejected
 * (earlier pages were transferred, as the DmaSpace contract allows); the bytes a rejected read did not
 * fetch are all-ones. A DMA never reaches an MMIO handler, so a device cannot re-enter itself or another.
 */
export class IdentityDma implements DmaSpace {
  readonly stats: IdentityDmaStats = { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, rejected: 0, msis: 0, msisRejected: 0 };

  constructor(
    private readonly memory: PhysicalMemory,
    private readonly sink: MsiSink,
  ) {}

  read(_requester: number, iova: number, dst: Uint8Array, length: number): DmaStatus {
    this.stats.reads++;
    if (!validRequest(iova, dst, length)) return this.reject();
    let done = 0;
    while (done < length) {
      const hpa = iova + done;
      const chunk = Math.min(length - done, PAGE_SIZE - (hpa % PAGE_SIZE));
      if (!inRam(this.memory, hpa, chunk)) {
        fillBlocked(dst, done, length - done);
        return this.reject();
      }
      copyFromRam(this.memory, hpa, dst, done, chunk);
      this.stats.bytesRead += chunk;
      done += chunk;
    }
    return DmaStatus.Ok;
  }

  write(_requester: number, iova: number, src: Uint8Array, length: number): DmaStatus {
    this.stats.writes++;
    if (!validRequest(iova, src, length)) return this.reject();
    let done = 0;
    while (done < length) {
      const hpa = iova + done;
      const chunk = Math.min(length - done, PAGE_SIZE - (hpa % PAGE_SIZE));
      if (!inRam(this.memory, hpa, chunk)) return this.reject();
      copyToRam(this.memory, hpa, src, done, chunk);
      this.stats.bytesWritten += chunk;
      done += chunk;
    }
    return DmaStatus.Ok;
  }

  msi(_requester: number, address: number, data: number): DmaStatus {
    if (((address & MSI_WINDOW_MASK) >>> 0) !== MSI_WINDOW_BASE || !Number.isInteger(address) || address < 0 || address > 0xffffffff) {
      this.stats.msisRejected++;
      return DmaStatus.Rejected;
    }
    this.stats.msis++;
    this.sink.deliverMsi(address >>> 0, data >>> 0);
    return DmaStatus.Ok;
  }

  private reject(): DmaStatus {
    this.stats.rejected++;
    return DmaStatus.Rejected;
  }
}
