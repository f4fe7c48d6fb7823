// Builds the opcode table from the entries each exec/ group registers, and compiles it once into the
// handler-id dispatch array the decoder and run loop use (STYLE rule 4: hardware facts as data).

import { type CompiledTable, type Handler, Imm, type OpEntry, type OpGroup, type OpSlot, HANDLER_UD, HANDLER_TOO_LONG } from './decoder.js';
import type { Cpu } from './cpu.js';
import { Vector } from './interrupts.js';

export class TableBuilder {
  readonly map: OpSlot[] = new Array<OpSlot>(0x300).fill(null);

  /** One opcode (0x00-0xFF, 0x100 | second byte for 0F xx, 0x200 | third byte for 0F 38 xx). */
  op(opcode: number, entry: OpEntry): void {
    if (this.map[opcode] !== null) throw new Error(`opcode ${opcode.toString(16)} registered twice`);
    this.map[opcode] = withCycles(entry);
  }

  /** A group opcode: entries by ModRM.reg (null = #UD). */
  group(opcode: number, imm: Imm, entries: (OpEntry | null)[]): OpGroup {
    if (this.map[opcode] !== null) throw new Error(`opcode ${opcode.toString(16)} registered twice`);
    const g: OpGroup = { group: entries.map((e) => (e === null ? null : withCycles(e))), imm };
    while (g.group.length < 8) g.group.push(null);
    this.map[opcode] = g;
    return g;
  }

  /** Adds entries to an existing group slot (several exec files share group opcodes like F6/F7/FF/0F01). */
  groupEntry(opcode: number, reg: number, entry: OpEntry): void {
    let slot = this.map[opcode];
    if (slot === null) slot = this.group(opcode, Imm.None, []);
    if (!('group' in slot)) throw new Error(`opcode ${opcode.toString(16)} is not a group`);
    if (slot.group[reg] !== null) throw new Error(`group ${opcode.toString(16)} /${reg} registered twice`);
    slot.group[reg] = withCycles(entry);
  }

  /** An entry of a group for mod = 3, chosen by the whole ModRM byte (0F 01 C1 = VMCALL, ...). */
  groupReg3(opcode: number, modrm: number, entry: OpEntry): void {
    let slot = this.map[opcode];
    if (slot === null) slot = this.group(opcode, Imm.None, []);
    if (!('group' in slot)) throw new Error(`opcode ${opcode.toString(16)} is not a group`);
    slot.reg3 ??= new Map();
    slot.reg3.set(modrm, withCycles(entry));
  }

  compile(): CompiledTable {
    const handlers: Handler[] = [undefinedOpcode, tooLong];
    const ids = new Map<Handler, number>([
      [undefinedOpcode, HANDLER_UD],
      [tooLong, HANDLER_TOO_LONG],
    ]);
    const add = (h: Handler | undefined): void => {
      if (h !== undefined && !ids.has(h)) {
        ids.set(h, handlers.length);
        handlers.push(h);
      }
    };
    const addEntry = (e: OpEntry | null | undefined): void => {
      if (e) {
        add(e.h32);
        add(e.h16);
      }
    };
    for (const slot of this.map) {
      if (slot === null) continue;
      if ('group' in slot) {
        slot.group.forEach(addEntry);
        slot.reg3?.forEach(addEntry);
      } else {
        addEntry(slot);
      }
    }
    if (handlers.length > 0xffff) throw new Error('too many handlers');
    return { handlers, ids, map: this.map };
  }
}

const charged = new WeakMap<OpEntry, OpEntry>();

/**
 * An instruction class that costs more than the default cycle (DESIGN.md time model) gets handlers
 * that charge the difference after they complete, so the hot loop counts one per instruction.
 */
function withCycles(entry: OpEntry): OpEntry {
  const n = (entry.cycles ?? 1) - 1;
  if (n <= 0) return entry;
  const known = charged.get(entry);
  if (known) return known;
  const wrap = (h: Handler): Handler => (cpu, s) => {
    h(cpu, s);
    cpu.charge(n);
  };
  const e: OpEntry = { ...entry, h32: wrap(entry.h32), h16: entry.h16 === undefined ? undefined : wrap(entry.h16) };
  charged.set(entry, e);
  return e;
}

/** #UD: every opcode the table does not define (SDM: never a silent no-op). */
function undefinedOpcode(cpu: Cpu): void {
  cpu.raise(Vector.UD);
}

/** An instruction longer than 15 bytes: #GP(0) (SDM Vol. 2 2.3.11). */
function tooLong(cpu: Cpu): void {
  cpu.raise(Vector.GP, 0);
}
