// General-register numbering shared by the core and every instruction group (SDM Vol. 2 table 2-1 order).
// Leaf module: imports nothing, so the opcode table can load before cpu.ts finishes initialising.

/** Register order in reg32: the ModRM encoding order. */
export const enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

/** reg8 index of each 8-bit register encoding (AL CL DL BL AH CH DH BH) in the little-endian reg32 buffer. */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export function hex4(n: number): string {
  return (n & 0xffff).toString(16).padStart(4, '0');
}
