// CPUID (SDM Vol. 2 CPUID): what this CPU reports is exactly what it implements. A feature absent
// here is absent in the CPU, which is how simplifications are documented to guests.

/** Leaf 1 EDX of the bare core: TSC(4), MSR(5), PSE(3), CX8(8), CMOV(15). No FPU, no PAE, no SEP, no PGE. */
export const LEAF1_EDX = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 15);
/** Leaf 1 bits that the board adds when it wires a local APIC: EDX.APIC(9), ECX.x2APIC(21), ECX.TSC-deadline(24). */
export const LEAF1_EDX_APIC = 1 << 9;
export const LEAF1_ECX_X2APIC = 1 << 21;
export const LEAF1_ECX_TSC_DEADLINE = 1 << 24;

/** What one CPU reports in CPUID leaf 1 (machine/ adds the bits of the devices it wires). */
export interface CpuFeatures {
  leaf1Ecx: number;
  leaf1Edx: number;
}

const VENDOR = 'GenuineIntel';
const out = [0, 0, 0, 0];

function str4(s: string, i: number): number {
  return s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
}

/**
 * Returns [eax, ebx, ecx, edx] (a reused array). Leaves above the maximum return the highest basic leaf's
 * values, as Intel processors do; extended leaf 0x80000000 reports no extended leaves beyond itself.
 */
export function cpuid(leaf: number, _subleaf: number, features: CpuFeatures): number[] {
  let l = leaf >>> 0;
  if (l >= 0x80000000) {
    out[0] = 0x80000000 | 0;
    out[1] = out[2] = out[3] = 0;
    if (l === 0x80000000) return out;
    l = 1; // out of range extended leaf: the highest basic leaf's data
  }
  if (l > 1) l = 1;
  if (l === 0) {
    out[0] = 1;
    out[1] = str4(VENDOR, 0);
    out[3] = str4(VENDOR, 4);
    out[2] = str4(VENDOR, 8);
    return out;
  }
  // Family 6, model 0x0F (a Core 2-era signature, the generation ELI was measured on), stepping 1.
  out[0] = (6 << 8) | (0xf << 4) | 1;
  out[1] = 0; // APIC ID 0, 0 logical processors, no CLFLUSH line size
  out[2] = features.leaf1Ecx;
  out[3] = features.leaf1Edx;
  return out;
}
