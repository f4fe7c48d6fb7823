// The VMX cost model (DESIGN.md "Time"): cycles the simulated clock charges for a VM exit, a VM entry and the
// hypervisor's handling of each exit reason, with the source of every default. Charging them is vm-entry/vm-exit's
// and the hypervisor's job; nothing else in the tree hard-codes a VMX cost.

import { ExitReason } from './controls.js';

/**
 * Hardware world switch, exit + entry together: 1,000 cycles. vmx.md section 13: SplitX (Landau et al., 2011,
 * Nehalem) measured the direct cost of an exit/entry pair at about 2,000 cycles; later generations are quoted at
 * 500-1,000 (unverified charts). ELI measured on Nehalem/Westmere-class parts; the digest's suggested default
 * is 1,000. Split 60/40 between the exit (state save, host load) and the entry (checks, guest load), as the
 * exit does more microcode work; the split is a model choice, the sum is the figure.
 */
export const HW_ROUND_TRIP_CYCLES = 1000;
export const VM_EXIT_CYCLES = 600;
export const VM_ENTRY_CYCLES = HW_ROUND_TRIP_CYCLES - VM_EXIT_CYCLES;

/**
 * The next entry re-runs the full consistency checks after a VMWRITE to a major control field: "several
 * hundred cycles" (Linux KVM commit 804939ea, Christopherson 2019, vmx.md section 13). Default 300.
 */
export const CONTROL_CHANGE_ENTRY_CYCLES = 300;

/**
 * Handler work of the hypervisor written in TypeScript, per exit reason (its code runs in no simulated time,
 * so the model charges it). vmx.md section 13: in-kernel fast paths 500-2,000 cycles (CPUID, MSR, EOI,
 * injection); +3,000 for instruction emulation (port I/O decode: kvm-unit-tests vmexit, outl_to_kernel 4,451
 * vs vmcall 3,898 round trips); +13,000 for a userspace device model (inl_from_qemu 20,574).
 */
export const HANDLER_FAST_PATH_CYCLES = 1000;
export const HANDLER_EMULATION_CYCLES = 3000;
export const HANDLER_USERSPACE_CYCLES = 13000;

const HANDLER_CYCLES = new Int32Array(80).fill(HANDLER_FAST_PATH_CYCLES);
/** Port I/O to an emulated device: decode and emulate in the kernel (COM1 and the debug-exit port). */
HANDLER_CYCLES[ExitReason.IoInstruction] = HANDLER_FAST_PATH_CYCLES + HANDLER_EMULATION_CYCLES;
/** EPT violations that the hypervisor emulates (MMIO) decode an instruction too. */
HANDLER_CYCLES[ExitReason.EptViolation] = HANDLER_FAST_PATH_CYCLES + HANDLER_EMULATION_CYCLES;
HANDLER_CYCLES[ExitReason.EptMisconfig] = HANDLER_FAST_PATH_CYCLES + HANDLER_EMULATION_CYCLES;
HANDLER_CYCLES[ExitReason.CrAccess] = HANDLER_FAST_PATH_CYCLES;

/** Cycles the TypeScript hypervisor charges for handling one exit of this basic reason. */
export function handlerCycles(reason: number): number {
  return reason >= 0 && reason < HANDLER_CYCLES.length ? HANDLER_CYCLES[reason] : HANDLER_FAST_PATH_CYCLES;
}
