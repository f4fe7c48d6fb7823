// The IA32_VMX_* capability MSRs (SDM Vol. 3 appendix A; digest vmx.md 1.5): they describe exactly what this
// VMX implementation does, and the VM-entry control checks compare against them. The MSR plumbing is msr.ts'.

import { EPT_VPID_CAP_HI, EPT_VPID_CAP_LO } from './ept.js';
import { HIGHEST_FIELD_INDEX } from './vmcs-fields.js';
import { ExitCtl, Pin, Proc, Proc2 } from './controls.js';

/** IA32_VMX_BASIC bits 30:0: the VMCS revision identifier this CPU writes and expects. */
export const VMCS_REVISION = 0x0e1e;

/** MSR indices (SDM Vol. 4 table 2-2). */
export const enum VmxMsr {
  Basic = 0x480,
  PinbasedCtls = 0x481,
  ProcbasedCtls = 0x482,
  ExitCtls = 0x483,
  EntryCtls = 0x484,
  Misc = 0x485,
  Cr0Fixed0 = 0x486,
  Cr0Fixed1 = 0x487,
  Cr4Fixed0 = 0x488,
  Cr4Fixed1 = 0x489,
  VmcsEnum = 0x48a,
  ProcbasedCtls2 = 0x48b,
  EptVpidCap = 0x48c,
  TruePinbasedCtls = 0x48d,
  TrueProcbasedCtls = 0x48e,
  TrueExitCtls = 0x48f,
  TrueEntryCtls = 0x490,
}

/** An allowed-0 / allowed-1 pair: a control C is valid iff (C & allowed0) === allowed0 and (C & ~allowed1) === 0. */
export interface AllowedSettings {
  allowed0: number;
  allowed1: number;
}

const PIN_DEFAULT1 = 0x16;
const PROC_DEFAULT1 = 0x0401e172;
const PROC_TRUE_DEFAULT1 = 0x04006172;
const EXIT_DEFAULT1 = 0x00036dff;
const EXIT_TRUE_DEFAULT1 = 0x00036dfb;
const ENTRY_DEFAULT1 = 0x000011ff;
const ENTRY_TRUE_DEFAULT1 = 0x000011fb;

/** Pin-based: external-interrupt and NMI exiting, virtual NMIs, the preemption timer. No posted interrupts. */
export const PIN_CTLS: AllowedSettings = {
  allowed0: PIN_DEFAULT1,
  allowed1: PIN_DEFAULT1 | Pin.ExternalInterruptExiting | Pin.NmiExiting | Pin.VirtualNmis | Pin.PreemptionTimer,
};
export const TRUE_PIN_CTLS = PIN_CTLS;

/**
 * Primary: no TPR shadow (no APICv yet), no CR8 exiting (an IA-32 processor has no CR8), and no exiting for
 * instructions this CPU does not have (MWAIT, MONITOR, RDPMC: they raise #UD) nor for PAUSE.
 */
const PROC_ALLOWED1 =
  PROC_DEFAULT1 |
  Proc.InterruptWindowExiting |
  Proc.TscOffsetting |
  Proc.HltExiting |
  Proc.InvlpgExiting |
  Proc.RdtscExiting |
  Proc.Cr3LoadExiting |
  Proc.Cr3StoreExiting |
  Proc.NmiWindowExiting |
  Proc.MovDrExiting |
  Proc.UnconditionalIoExiting |
  Proc.UseIoBitmaps |
  Proc.MonitorTrapFlag |
  Proc.UseMsrBitmaps |
  Proc.SecondaryControls;
export const PROC_CTLS: AllowedSettings = { allowed0: PROC_DEFAULT1, allowed1: PROC_ALLOWED1 };
export const TRUE_PROC_CTLS: AllowedSettings = { allowed0: PROC_TRUE_DEFAULT1, allowed1: PROC_ALLOWED1 };

/** Secondary: EPT, descriptor-table exiting, WBINVD exiting, unrestricted guest. */
export const PROC_CTLS2: AllowedSettings = {
  allowed0: 0,
  allowed1: Proc2.EnableEpt | Proc2.DescriptorTableExiting | Proc2.WbinvdExiting | Proc2.UnrestrictedGuest,
};

/** Exit: acknowledge interrupt on exit, save the preemption timer. Host address-space size stays 0 (IA-32). */
const EXIT_ALLOWED1 = EXIT_DEFAULT1 | ExitCtl.AckInterruptOnExit | ExitCtl.SavePreemptionTimer;
export const EXIT_CTLS: AllowedSettings = { allowed0: EXIT_DEFAULT1, allowed1: EXIT_ALLOWED1 };
export const TRUE_EXIT_CTLS: AllowedSettings = { allowed0: EXIT_TRUE_DEFAULT1, allowed1: EXIT_ALLOWED1 };

/** Entry: only the default settings (no IA-32e guest, no SMM, no PAT/EFER loading). */
export const ENTRY_CTLS: AllowedSettings = { allowed0: ENTRY_DEFAULT1, allowed1: ENTRY_DEFAULT1 };
export const TRUE_ENTRY_CTLS: AllowedSettings = { allowed0: ENTRY_TRUE_DEFAULT1, allowed1: ENTRY_DEFAULT1 };

/** CR0 in VMX operation: PE, NE, PG must be 1 (unrestricted guest relaxes PE/PG for the guest); the defined bits may be 1. */
export const CR0_FIXED0 = 0x80000021 | 0;
export const CR0_FIXED1 = 0xe005003f | 0;
/** CR4: VMXE must be 1; PSE and VMXE are the only CR4 bits this CPU has. */
export const CR4_VMXE = 1 << 13;
export const CR4_FIXED0 = CR4_VMXE;
export const CR4_FIXED1 = CR4_VMXE | (1 << 4);

/**
 * IA32_VMX_MISC: preemption-timer rate 5 (one tick per 32 TSC cycles; digest section 8, a typical Intel
 * value), HLT activity state supported (bit 6), no shutdown/wait-for-SIPI entry, 4 CR3-target values,
 * up to 512 MSR-list entries, no VMWRITE to read-only fields, no zero-length injection.
 */
export const PREEMPTION_TIMER_RATE = 5;
export const MISC_LO = PREEMPTION_TIMER_RATE | (1 << 6) | (4 << 16);
export const CR3_TARGET_COUNT = 4;
/** The recommended maximum number of MSR-list entries: 512 * (N + 1) with N = 0. */
export const MSR_LIST_MAX = 512;

/**
 * IA32_VMX_BASIC high dword: VMCS size 4096, 32-bit physical addresses only (bit 48: an IA-32 processor),
 * write-back VMCS memory (53:50 = 6), INS/OUTS instruction information (54), TRUE control MSRs (55).
 */
export const BASIC_HI = 0x1000 | (1 << 16) | (6 << 18) | (1 << 22) | (1 << 23);

/** The value of a capability MSR as [lo, hi], or null for an index that is not one. */
export function capabilityMsr(index: number): readonly [number, number] | null {
  const pair = (s: AllowedSettings): readonly [number, number] => [s.allowed0, s.allowed1];
  switch (index) {
    case VmxMsr.Basic:
      return [VMCS_REVISION, BASIC_HI];
    case VmxMsr.PinbasedCtls:
      return pair(PIN_CTLS);
    case VmxMsr.ProcbasedCtls:
      return pair(PROC_CTLS);
    case VmxMsr.ExitCtls:
      return pair(EXIT_CTLS);
    case VmxMsr.EntryCtls:
      return pair(ENTRY_CTLS);
    case VmxMsr.Misc:
      return [MISC_LO, 0];
    case VmxMsr.Cr0Fixed0:
      return [CR0_FIXED0, 0];
    case VmxMsr.Cr0Fixed1:
      return [CR0_FIXED1, 0];
    case VmxMsr.Cr4Fixed0:
      return [CR4_FIXED0, 0];
    case VmxMsr.Cr4Fixed1:
      return [CR4_FIXED1, 0];
    case VmxMsr.VmcsEnum:
      return [HIGHEST_FIELD_INDEX << 1, 0];
    case VmxMsr.ProcbasedCtls2:
      return pair(PROC_CTLS2);
    case VmxMsr.EptVpidCap:
      return [EPT_VPID_CAP_LO, EPT_VPID_CAP_HI];
    case VmxMsr.TruePinbasedCtls:
      return pair(TRUE_PIN_CTLS);
    case VmxMsr.TrueProcbasedCtls:
      return pair(TRUE_PROC_CTLS);
    case VmxMsr.TrueExitCtls:
      return pair(TRUE_EXIT_CTLS);
    case VmxMsr.TrueEntryCtls:
      return pair(TRUE_ENTRY_CTLS);
    default:
      return null;
  }
}
