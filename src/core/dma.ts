// The DMA contract (STYLE rule 2): devices reach memory only through a DMA space, page by page, with the
// access intended; the result is a status, never an exception. The IOMMU is one such space, identity another.

/** What became of a DMA access. */
export const enum DmaStatus {
  Ok = 0,
  /** The translation refused it (VT-d fault recorded by the IOMMU); nothing was transferred. */
  Fault = 1,
  /** The target is not RAM (unbacked, MMIO, the MSI window): rejected, nothing transferred. */
  Rejected = 2,
}

/**
 * A device's view of memory. `requester` is the PCI requester ID (bus << 8 | dev << 3 | fn) the IOMMU
 * selects a context by. A transfer that crosses pages is translated page by page and stops at the first
 * page that fails: bytes before it may have been transferred (as on hardware), none after it.
 */
export interface DmaSpace {
  read(requester: number, iova: number, dst: Uint8Array, length: number): DmaStatus;
  write(requester: number, iova: number, src: Uint8Array, length: number): DmaStatus;
  /**
   * A 32-bit write to the interrupt window 0xFEEx_xxxx (an MSI). The space delivers it (after
   * interrupt remapping, for an IOMMU) to the MSI sink, or records a fault.
   */
  msi(requester: number, address: number, data: number): DmaStatus;
}

/** Where MSIs end up: the local APIC(s) (x86 MSI format: SDM Vol. 3 11.11). */
export interface MsiSink {
  deliverMsi(address: number, data: number): void;
}

/** The interrupt window every MSI address lies in (devices.md 6.1). */
export const MSI_WINDOW_BASE = 0xfee00000;
export const MSI_WINDOW_MASK = 0xfff00000;
