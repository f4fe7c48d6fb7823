// IA-32 register names and numbers as the encoder needs them (ModRM/SIB numbering, SDM Vol. 2 table 2-2).
// Owns nothing else; operand parsing and encoding use this table.

export type RegClass = 'gpr' | 'sreg' | 'cr' | 'dr';

export interface Register {
  name: string;
  cls: RegClass;
  /** Width in bits for general registers; 16 for segment registers; 32 for control/debug. */
  size: number;
  /** The 3-bit number placed in ModRM.reg / ModRM.rm / SIB / opcode+r. */
  num: number;
}

const table: Register[] = [];
const gpr = (names: string[], size: number): void =>
  names.forEach((name, num) => table.push({ name, cls: 'gpr', size, num }));
gpr(['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'], 8);
gpr(['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'], 16);
gpr(['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'], 32);
['es', 'cs', 'ss', 'ds', 'fs', 'gs'].forEach((name, num) => table.push({ name, cls: 'sreg', size: 16, num }));
[0, 2, 3, 4, 8].forEach((num) => table.push({ name: `cr${num}`, cls: 'cr', size: 32, num }));
[0, 1, 2, 3, 6, 7].forEach((num) => table.push({ name: `dr${num}`, cls: 'dr', size: 32, num }));

export const REGISTERS: ReadonlyMap<string, Register> = new Map(table.map((r) => [r.name, r]));

export function lookupRegister(name: string): Register | undefined {
  return REGISTERS.get(name.toLowerCase());
}

export const SEGMENT_PREFIX: Readonly<Record<string, number>> = {
  es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65,
};
