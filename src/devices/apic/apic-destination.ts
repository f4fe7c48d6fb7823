// Destination matching for IPIs and MSIs (SDM Vol. 3 11.6.2 xAPIC physical/logical flat/cluster, 11.12.10
// x2APIC): pure functions of the message's destination and this APIC's ID, LDR and DFR. Delivery is local-apic.ts's.

/** The xAPIC broadcast destination (8-bit) and the x2APIC one (32-bit). */
export const XAPIC_BROADCAST = 0xff;
export const X2APIC_BROADCAST = 0xffffffff;

/** DFR model (bits 31:28): 1111 flat, 0000 cluster (SDM Vol. 3 11.6.2.2). */
const DFR_MODEL_FLAT = 0xf;

/** xAPIC: does an 8-bit destination select this APIC? `ldr`, `dfr` as the registers read. */
export function matchXapic(dest: number, logical: boolean, xapicId: number, ldr: number, dfr: number): boolean {
  dest &= 0xff;
  if (dest === XAPIC_BROADCAST) return true;
  if (!logical) return dest === (xapicId & 0xff);
  const logicalId = ldr >>> 24;
  if (dfr >>> 28 === DFR_MODEL_FLAT) return (logicalId & dest) !== 0;
  // Cluster model: bits 7:4 select the cluster, bits 3:0 the members.
  return logicalId >>> 4 === dest >>> 4 && (logicalId & dest & 0xf) !== 0;
}

/** x2APIC: does a 32-bit destination select this APIC? Logical = cluster 31:16 + member bitmap 15:0. */
export function matchX2apic(dest: number, logical: boolean, x2apicId: number, ldr: number): boolean {
  dest >>>= 0;
  if (dest === X2APIC_BROADCAST) return true;
  if (!logical) return dest === x2apicId >>> 0;
  return dest >>> 16 === ldr >>> 16 && (dest & ldr & 0xffff) !== 0;
}

/** The x2APIC logical ID derived from the x2APIC ID (SDM Vol. 3 11.12.10.2): cluster << 16 | 1 << (id & 15). */
export function x2apicLdr(x2apicId: number): number {
  return ((((x2apicId >>> 4) & 0xffff) << 16) | (1 << (x2apicId & 0xf))) >>> 0;
}
