// The VMX instructions' opcodes (SDM Vol. 2 chapter 6 / Vol. 3 chapter 30): decoding and dispatch to the
// VMX unit the board installs (cpu.vmx). Their semantics are vmx/'s; without a VMX unit they are #UD.

import type { Handler } from '../decoder.js';
import { Imm, ModForm, PFX_OPSIZE, PFX_REP, PFX_REPNE } from '../decoder.js';
import { Vector } from '../interrupts.js';
import type { TableBuilder } from '../table-builder.js';
import { VmxOp } from '../vmx-hooks.js';

const PREFIXES = PFX_OPSIZE | PFX_REP | PFX_REPNE;

function dispatch(op: VmxOp): Handler {
  return (cpu, s) => {
    const vmx = cpu.vmx;
    if (vmx === null) return cpu.raise(Vector.UD); // CPUID.1:ECX.VMX = 0
    vmx.instruction(op, s);
  };
}

/** 0F C7 /6 (memory): VMPTRLD, 66 VMCLEAR, F3 VMXON. */
const c7slash6: Handler = (cpu, s) => {
  const p = cpu.d.pfx[s] & PREFIXES;
  const vmx = cpu.vmx;
  if (vmx === null) return cpu.raise(Vector.UD);
  vmx.instruction(p === PFX_REP ? VmxOp.Vmxon : p === PFX_OPSIZE ? VmxOp.Vmclear : VmxOp.Vmptrld, s);
};

export function registerVmx(t: TableBuilder): void {
  const none = (name: string) => (pfx: number): string | null => ((pfx & PREFIXES) === 0 ? name : null);
  t.groupReg3(0x101, 0xc1, { mnem: 'vmcall', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmcall), byPrefix: none('vmcall') });
  t.groupReg3(0x101, 0xc2, { mnem: 'vmlaunch', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmlaunch), byPrefix: none('vmlaunch') });
  t.groupReg3(0x101, 0xc3, { mnem: 'vmresume', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmresume), byPrefix: none('vmresume') });
  t.groupReg3(0x101, 0xc4, { mnem: 'vmxoff', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmxoff), byPrefix: none('vmxoff') });
  t.groupEntry(0x1c7, 6, {
    mnem: 'vmptrld',
    modrm: true,
    imm: Imm.None,
    h32: c7slash6,
    form: ModForm.MemOnly,
    byPrefix: (pfx) => {
      const p = pfx & PREFIXES;
      return p === 0 ? 'vmptrld' : p === PFX_OPSIZE ? 'vmclear' : p === PFX_REP ? 'vmxon' : null;
    },
  });
  t.groupEntry(0x1c7, 7, { mnem: 'vmptrst', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmptrst), form: ModForm.MemOnly, byPrefix: none('vmptrst') });
  t.op(0x178, { mnem: 'vmread', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmread), byPrefix: none('vmread') });
  t.op(0x179, { mnem: 'vmwrite', modrm: true, imm: Imm.None, h32: dispatch(VmxOp.Vmwrite), byPrefix: none('vmwrite') });
  t.op(0x280, {
    mnem: 'invept',
    modrm: true,
    imm: Imm.None,
    h32: dispatch(VmxOp.Invept),
    form: ModForm.MemOnly,
    byPrefix: (pfx) => ((pfx & PREFIXES) === PFX_OPSIZE ? 'invept' : null),
  });
  // INVVPID (66 0F 38 81) is absent: IA32_VMX_EPT_VPID_CAP[32] = 0, so it is #UD (SDM Vol. 3 30.3).
}
