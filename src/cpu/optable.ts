// The opcode table: every instruction group registers its entries, compiled once at module load into
// the dispatch array (STYLE rule 4). Which opcodes exist is decided in exec/*, not here.

import { registerAlu } from './exec/alu.js';
import { registerBits } from './exec/bits.js';
import { registerControl } from './exec/control.js';
import { registerMov } from './exec/mov.js';
import { registerShift } from './exec/shift.js';
import { registerStack } from './exec/stack.js';
import { registerString } from './exec/string.js';
import { registerSystem } from './exec/system.js';
import { registerVmx } from './exec/vmx.js';
import { TableBuilder } from './table-builder.js';

function build(): TableBuilder {
  const t = new TableBuilder();
  registerAlu(t);
  registerMov(t);
  registerStack(t);
  registerControl(t);
  registerSystem(t);
  registerString(t);
  registerShift(t);
  registerBits(t);
  registerVmx(t);
  return t;
}

export const TABLE = build().compile();
