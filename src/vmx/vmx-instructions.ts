// The VMX instructions as guest machine code executes them (SDM Vol. 3 chapter 30): the common #UD/#GP checks,
// the VM exit in non-root operation, operand fetch and store, and the VMsucceed/VMfail flags. The operations
// themselves (shared with the TypeScript API) are vmx-unit.ts'.

import { RM_MEM } from '../cpu/decoder.js';
import { Flag } from '../cpu/flags.js';
import { Vector } from '../cpu/interrupts.js';
import { VmxOp } from '../cpu/vmx-hooks.js';
import { CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, CR4_VMXE } from './capabilities.js';
import { ExitReason, VmxError } from './controls.js';
import * as intercept from './intercepts.js';
import { VmcsField as F } from './vmcs-fields.js';
import { ENTRY_FAILED, FAIL_INVALID, FEATURE_CONTROL_LOCK, FEATURE_CONTROL_VMX, INVALID_POINTER, type Vmx, fixedBitsHold } from './vmx-unit.js';

/** Basic exit reason of each VMX instruction in non-root operation (SDM 25.1.2), by VmxOp. */
const VMX_EXIT_REASON: readonly number[] = [
  ExitReason.Vmxon,
  ExitReason.Vmxoff,
  ExitReason.Vmclear,
  ExitReason.Vmptrld,
  ExitReason.Vmptrst,
  ExitReason.Vmread,
  ExitReason.Vmwrite,
  ExitReason.Vmlaunch,
  ExitReason.Vmresume,
  ExitReason.Vmcall,
  ExitReason.Invept,
  ExitReason.Invvpid,
];


export function executeVmxInstruction(vmx: Vmx, op: VmxOp, s: number): void {
const cpu = vmx.cpu;
  if (op === VmxOp.Vmxon) {
    if ((cpu.cr4 & CR4_VMXE) === 0) cpu.raise(Vector.UD);
    if (cpu.nonRoot) intercept.vmxInstructionExit(vmx, s, ExitReason.Vmxon);
  } else {
    if (!vmx.inVmx) cpu.raise(Vector.UD);
    if (cpu.nonRoot) intercept.vmxInstructionExit(vmx, s, VMX_EXIT_REASON[op]);
  }
  if (cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
  vmx.hostIsApi = false;
  let r: number;
  switch (op) {
    case VmxOp.Vmxon: {
      if (vmx.inVmx) {
        r = VmxError.VmxonInRoot;
        break;
      }
      const fc = cpu.msr.featureControl;
      if ((fc & FEATURE_CONTROL_LOCK) === 0 || (fc & FEATURE_CONTROL_VMX) === 0) cpu.raise(Vector.GP, 0);
      if (!fixedBitsHold(cpu.cr0, CR0_FIXED0, CR0_FIXED1) || !fixedBitsHold(cpu.cr4, CR4_FIXED0, CR4_FIXED1)) cpu.raise(Vector.GP, 0);
      const lin = cpu.ea(s, 8, false);
      r = vmx.vmxon(cpu.read32(lin), cpu.read32((lin + 4) | 0));
      break;
    }
    case VmxOp.Vmxoff:
      r = vmx.vmxoff();
      break;
    case VmxOp.Vmclear: {
      const lin = cpu.ea(s, 8, false);
      r = vmx.vmclear(cpu.read32(lin), cpu.read32((lin + 4) | 0));
      break;
    }
    case VmxOp.Vmptrld: {
      const lin = cpu.ea(s, 8, false);
      r = vmx.vmptrld(cpu.read32(lin), cpu.read32((lin + 4) | 0));
      break;
    }
    case VmxOp.Vmptrst: {
      const lin = cpu.ea(s, 8, true);
      const p = vmx.current === null ? INVALID_POINTER : vmx.current.address;
      cpu.write32(lin, p);
      cpu.write32((lin + 4) | 0, vmx.current === null ? -1 : 0);
      r = 0;
      break;
    }
    case VmxOp.Vmread: {
      if (vmx.current === null) {
        r = FAIL_INVALID;
        break;
      }
      const d = cpu.d;
      // Check a memory destination before reading the field (a #PF leaves no VMfail behind).
      const dest = d.rm[s] === RM_MEM ? cpu.ea(s, 4, true) : 0;
      r = vmx.current.vmread(cpu.reg32[d.reg[s]]);
      if (r === 0) {
        if (d.rm[s] === RM_MEM) cpu.write32(dest, vmx.current.readValue);
        else cpu.reg32[d.rm[s]] = vmx.current.readValue;
      }
      break;
    }
    case VmxOp.Vmwrite: {
      if (vmx.current === null) {
        r = FAIL_INVALID;
        break;
      }
      const d = cpu.d;
      const value = d.rm[s] === RM_MEM ? cpu.read32(cpu.ea(s, 4, false)) : cpu.reg32[d.rm[s]];
      r = vmx.vmwrite(cpu.reg32[d.reg[s]], value);
      break;
    }
    case VmxOp.Vmlaunch:
    case VmxOp.Vmresume:
      r = vmx.enter(op === VmxOp.Vmlaunch);
      if (r === 0 || r === ENTRY_FAILED) return; // the CPU now runs the guest, or the host at HOST_RIP
      break;
    case VmxOp.Vmcall:
      r = VmxError.VmcallInRoot; // no dual-monitor treatment of SMM (SDM 30.3 VMCALL)
      break;
    case VmxOp.Invept: {
      // The type is checked before the descriptor is read (SDM 31.3 INVEPT: an unsupported type is VMfail(28)).
      const type = cpu.reg32[cpu.d.reg[s]];
      if (type !== 1 && type !== 2) {
        r = VmxError.InvalidInveptOperand;
        break;
      }
      const lin = cpu.ea(s, 16, false);
      r = vmx.invept(type, cpu.read32(lin), cpu.read32((lin + 4) | 0));
      break;
    }
    default:
      return cpu.raise(Vector.UD);
  }
  setResultFlags(vmx, r);
}

/** VMsucceed / VMfailInvalid / VMfailValid (SDM 30.2): CF, PF, AF, ZF, SF, OF. */
function setResultFlags(vmx: Vmx, r: number): void {
const cpu = vmx.cpu;
  let f = 0;
  if (r === FAIL_INVALID || (r > 0 && vmx.current === null)) f = Flag.CF;
  else if (r > 0) {
    f = Flag.ZF;
    vmx.current!.set(F.VmInstructionError, r);
  }
  cpu.setArith(f);
}
