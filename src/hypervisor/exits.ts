// The VM-exit handlers of the TypeScript hypervisor, one closed table over every basic exit reason (STYLE rule 8):
// each reason has a handler or is marked unexpected, and an unexpected exit stops the VM with a state dump.
// Running the VM and resuming after a handler is vm.ts'.

import { Reg } from '../cpu/registers.js';
import { LEAF1_ECX_TSC_DEADLINE, LEAF1_ECX_X2APIC, LEAF1_EDX_APIC, cpuid } from '../cpu/cpuid.js';
import { LEAF1_ECX_VMX } from '../vmx/vmx-unit.js';
import { ExitReason, IntrInfo, IntrType } from '../vmx/controls.js';
import { VmcsField as F } from '../vmx/vmcs-fields.js';
import { IoFlags } from '../cpu/vmx-hooks.js';
import type { Vm } from './vm.js';

/** What the exit loop does after a handler: resume the guest, or stop the VM with a reason. */
export type ExitAction = { resume: true } | { resume: false; stop: 'halted' | 'shutdown' | 'unhandled-exit'; message: string };

export type ExitHandler = (vm: Vm) => ExitAction;

const RESUME: ExitAction = { resume: true };

/** CPUID.1 bits the VM does not get: VMX (no nested VMX), and the local APIC (no virtual APIC yet). */
const HIDDEN_LEAF1_ECX = LEAF1_ECX_VMX | LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE;
const HIDDEN_LEAF1_EDX = LEAF1_EDX_APIC;

/** MSRs the guest may access through the MSR bitmap without an exit (the VMCS switches SYSENTER on entry/exit). */
export const PASSTHROUGH_READ_MSRS: readonly number[] = [0x10, 0x174, 0x175, 0x176, 0x1a0];
export const PASSTHROUGH_WRITE_MSRS: readonly number[] = [0x174, 0x175, 0x176];

function skip(vm: Vm): ExitAction {
  vm.advanceRip();
  return RESUME;
}

/** CPUID (unconditional exit, SDM 26.1.2): the host's leaves minus what the VM lacks. */
function handleCpuid(vm: Vm): ExitAction {
  const r = vm.cpu.reg32;
  const features = vm.cpu.features;
  const out = cpuid(r[Reg.EAX], r[Reg.ECX], {
    leaf1Ecx: features.leaf1Ecx & ~HIDDEN_LEAF1_ECX,
    leaf1Edx: features.leaf1Edx & ~HIDDEN_LEAF1_EDX,
  });
  r[Reg.EAX] = out[0];
  r[Reg.EBX] = out[1];
  r[Reg.ECX] = out[2];
  r[Reg.EDX] = out[3];
  return skip(vm);
}

/** Port I/O to the VM's devices (exit 30): emulate IN/OUT/INS/OUTS from the qualification (SDM table 28-5). */
function handleIo(vm: Vm): ExitAction {
  const q = vm.read(F.ExitQualification);
  const size = ((q & 7) + 1) as 1 | 2 | 4;
  const port = q >>> 16;
  const isIn = (q & IoFlags.In) !== 0;
  const cpu = vm.cpu;
  if ((q & IoFlags.String) !== 0) {
    const r = vm.emulateStringIo(port, size, isIn, (q & IoFlags.Rep) !== 0);
    if (r === 'fault') return vm.unhandled('string I/O through a guest page that is not present (no #PF emulation)');
    return r === 'done' ? skip(vm) : RESUME; // 'again': the REP goes on at the next entry, from the same RIP
  }
  if (isIn) {
    const v = vm.devices.ports.read(port, size);
    if (size === 1) cpu.reg8[0] = v;
    else if (size === 2) cpu.reg16[0] = v;
    else cpu.reg32[Reg.EAX] = v;
  } else {
    const eax = cpu.reg32[Reg.EAX];
    vm.devices.ports.write(port, size, size === 1 ? eax & 0xff : size === 2 ? eax & 0xffff : eax >>> 0);
  }
  return skip(vm);
}

/** RDMSR/WRMSR the bitmap sends here (exits 31/32): a small virtual MSR file; unknown MSRs get #GP(0). */
function handleMsr(vm: Vm, write: boolean): ExitAction {
  const cpu = vm.cpu;
  const index = cpu.reg32[Reg.ECX] >>> 0;
  const ok = write ? vm.msrs.write(index, cpu.reg32[Reg.EAX], cpu.reg32[Reg.EDX]) : vm.msrs.read(index);
  if (!ok) return vm.injectException(13, 0);
  if (!write) {
    cpu.reg32[Reg.EAX] = vm.msrs.lo;
    cpu.reg32[Reg.EDX] = vm.msrs.hi;
  }
  return skip(vm);
}

/** MOV to CR0/CR4 that touched a host-owned bit (exit 28): CR4.VMXE is reserved for the VM; CR0.NE is the guest's. */
function handleCrAccess(vm: Vm): ExitAction {
  const q = vm.read(F.ExitQualification);
  const cr = q & 0xf;
  const access = (q >>> 4) & 3;
  const value = vm.cpu.reg32[(q >>> 8) & 7];
  if (access !== 0) return vm.unhandled(`CR access type ${access} on CR${cr}`);
  if (cr === 4) return vm.injectException(13, 0); // VMXE: CPUID tells the VM it has no VMX
  if (cr === 0) return vm.writeGuestCr0(value) ? skip(vm) : vm.injectException(13, 0);
  return vm.unhandled(`MOV to CR${cr}`);
}

/** HLT (exit 12): the vCPU halts until an event; with nothing able to wake it the VM has halted for good. */
function handleHlt(vm: Vm): ExitAction {
  vm.advanceRip();
  return vm.halt();
}

/** External interrupt (exit 1) with acknowledge-interrupt-on-exit: the vector is queued for injection. */
function handleExternalInterrupt(vm: Vm): ExitAction {
  const info = vm.read(F.ExitInterruptionInfo);
  if ((info & IntrInfo.Valid) === 0) return vm.unhandled('external-interrupt exit without a vector (acknowledge-on-exit is on)');
  vm.interruptArrived(info & 0xff);
  return RESUME;
}

function handleTripleFault(vm: Vm): ExitAction {
  return { resume: false, stop: 'shutdown', message: 'triple fault' };
}

const unexpected = null;

/**
 * Every basic exit reason (SDM appendix C) and what this hypervisor does with it. `null`: the VM is not set up
 * to cause it, so it arriving is a hypervisor or CPU bug; the VM stops with a dump.
 */
export const EXIT_HANDLERS: Record<ExitReason, ExitHandler | null> = {
  [ExitReason.ExceptionOrNmi]: unexpected, // exception bitmap 0, no NMI exiting
  [ExitReason.ExternalInterrupt]: handleExternalInterrupt,
  [ExitReason.TripleFault]: handleTripleFault,
  [ExitReason.Init]: unexpected,
  [ExitReason.Sipi]: unexpected,
  [ExitReason.IoSmi]: unexpected,
  [ExitReason.OtherSmi]: unexpected,
  [ExitReason.InterruptWindow]: (vm) => {
    vm.windowOpened();
    return RESUME;
  },
  [ExitReason.NmiWindow]: unexpected,
  [ExitReason.TaskSwitch]: unexpected, // task switches are #GP on this CPU
  [ExitReason.Cpuid]: handleCpuid,
  [ExitReason.Getsec]: unexpected,
  [ExitReason.Hlt]: handleHlt,
  [ExitReason.Invd]: skip, // the VM's caches are the host's: nothing to do
  [ExitReason.Invlpg]: unexpected,
  [ExitReason.Rdpmc]: unexpected,
  [ExitReason.Rdtsc]: unexpected,
  [ExitReason.Rsm]: unexpected,
  [ExitReason.Vmcall]: (vm) => vm.injectException(6), // no hypercalls: #UD, as KVM does for an unknown one
  [ExitReason.Vmclear]: (vm) => vm.injectException(6), // CPUID says no VMX: VMX instructions are #UD
  [ExitReason.Vmlaunch]: (vm) => vm.injectException(6),
  [ExitReason.Vmptrld]: (vm) => vm.injectException(6),
  [ExitReason.Vmptrst]: (vm) => vm.injectException(6),
  [ExitReason.Vmread]: (vm) => vm.injectException(6),
  [ExitReason.Vmresume]: (vm) => vm.injectException(6),
  [ExitReason.Vmwrite]: (vm) => vm.injectException(6),
  [ExitReason.Vmxoff]: (vm) => vm.injectException(6),
  [ExitReason.Vmxon]: (vm) => vm.injectException(6),
  [ExitReason.CrAccess]: handleCrAccess,
  [ExitReason.MovDr]: unexpected,
  [ExitReason.IoInstruction]: handleIo,
  [ExitReason.Rdmsr]: (vm) => handleMsr(vm, false),
  [ExitReason.Wrmsr]: (vm) => handleMsr(vm, true),
  [ExitReason.InvalidGuestState]: unexpected,
  [ExitReason.MsrLoading]: unexpected,
  [ExitReason.Mwait]: unexpected,
  [ExitReason.MonitorTrapFlag]: unexpected,
  [ExitReason.Monitor]: unexpected,
  [ExitReason.Pause]: unexpected,
  [ExitReason.MachineCheck]: unexpected,
  [ExitReason.TprBelowThreshold]: unexpected,
  [ExitReason.ApicAccess]: unexpected,
  [ExitReason.VirtualizedEoi]: unexpected,
  [ExitReason.GdtrIdtrAccess]: unexpected,
  [ExitReason.LdtrTrAccess]: unexpected,
  [ExitReason.EptViolation]: (vm) => vm.unhandled(`EPT violation at guest-physical ${(vm.read(F.GuestPhysicalAddress) >>> 0).toString(16)} (no RAM or device there)`),
  [ExitReason.EptMisconfig]: unexpected,
  [ExitReason.Invept]: (vm) => vm.injectException(6),
  [ExitReason.Rdtscp]: unexpected,
  [ExitReason.PreemptionTimer]: unexpected,
  [ExitReason.Invvpid]: unexpected,
  [ExitReason.Wbinvd]: unexpected,
  [ExitReason.Xsetbv]: unexpected,
  [ExitReason.ApicWrite]: unexpected,
};

/** The interruption-information value injecting hardware exception `vector` (SDM 24.8.3). */
export function hardwareException(vector: number, hasError: boolean): number {
  return (vector | (IntrType.HardwareException << 8) | (hasError ? IntrInfo.ErrorCodeValid : 0) | IntrInfo.Valid) | 0;
}
