// MSRs that belong to devices (the local APIC's IA32_APIC_BASE and its x2APIC range 0x800-0x8FF): the
// CPU forwards RDMSR/WRMSR of a claimed index here. The CPU still owns #GP for unclaimed indices.

/** A device that answers RDMSR/WRMSR for the indices it claims. */
export interface MsrDevice {
  readonly name: string;
  claims(index: number): boolean;
  /**
   * RDMSR: returns false for #GP (reserved, write-only or disabled register), else leaves the value in
   * `result` (lo, hi).
   */
  rdmsr(index: number, result: Int32Array): boolean;
  /** WRMSR: returns false for #GP. */
  wrmsr(index: number, lo: number, hi: number): boolean;
}
