// VMX control bits, exit reasons and event-information formats as the SDM numbers them (Vol. 3 chapter 24,
// appendix C; digest vmx.md sections 3-5). What this CPU supports of them is capabilities.ts'.

/** Pin-based VM-execution controls (field 4000, SDM 24.6.1). */
export const enum Pin {
  ExternalInterruptExiting = 1 << 0,
  NmiExiting = 1 << 3,
  VirtualNmis = 1 << 5,
  PreemptionTimer = 1 << 6,
  PostedInterrupts = 1 << 7,
}

/** Primary processor-based VM-execution controls (field 4002, SDM 24.6.2). */
export const enum Proc {
  InterruptWindowExiting = 1 << 2,
  TscOffsetting = 1 << 3,
  HltExiting = 1 << 7,
  InvlpgExiting = 1 << 9,
  MwaitExiting = 1 << 10,
  RdpmcExiting = 1 << 11,
  RdtscExiting = 1 << 12,
  Cr3LoadExiting = 1 << 15,
  Cr3StoreExiting = 1 << 16,
  TprShadow = 1 << 21,
  NmiWindowExiting = 1 << 22,
  MovDrExiting = 1 << 23,
  UnconditionalIoExiting = 1 << 24,
  UseIoBitmaps = 1 << 25,
  MonitorTrapFlag = 1 << 27,
  UseMsrBitmaps = 1 << 28,
  MonitorExiting = 1 << 29,
  PauseExiting = 1 << 30,
  SecondaryControls = 1 << 31,
}

/** Secondary processor-based VM-execution controls (field 401E, SDM 24.6.2). */
export const enum Proc2 {
  VirtualizeApicAccesses = 1 << 0,
  EnableEpt = 1 << 1,
  DescriptorTableExiting = 1 << 2,
  EnableRdtscp = 1 << 3,
  VirtualizeX2apic = 1 << 4,
  EnableVpid = 1 << 5,
  WbinvdExiting = 1 << 6,
  UnrestrictedGuest = 1 << 7,
}

/** VM-exit controls (field 400C, SDM 24.7.1). */
export const enum ExitCtl {
  SaveDebugControls = 1 << 2,
  HostAddressSpaceSize = 1 << 9,
  AckInterruptOnExit = 1 << 15,
  SavePat = 1 << 18,
  LoadPat = 1 << 19,
  SaveEfer = 1 << 20,
  LoadEfer = 1 << 21,
  SavePreemptionTimer = 1 << 22,
}

/** VM-entry controls (field 4012, SDM 24.8.1). */
export const enum EntryCtl {
  LoadDebugControls = 1 << 2,
  Ia32eModeGuest = 1 << 9,
  EntryToSmm = 1 << 10,
}

/** Basic exit reasons (SDM Vol. 3 appendix C). */
export const enum ExitReason {
  ExceptionOrNmi = 0,
  ExternalInterrupt = 1,
  TripleFault = 2,
  Init = 3,
  Sipi = 4,
  IoSmi = 5,
  OtherSmi = 6,
  InterruptWindow = 7,
  NmiWindow = 8,
  TaskSwitch = 9,
  Cpuid = 10,
  Getsec = 11,
  Hlt = 12,
  Invd = 13,
  Invlpg = 14,
  Rdpmc = 15,
  Rdtsc = 16,
  Rsm = 17,
  Vmcall = 18,
  Vmclear = 19,
  Vmlaunch = 20,
  Vmptrld = 21,
  Vmptrst = 22,
  Vmread = 23,
  Vmresume = 24,
  Vmwrite = 25,
  Vmxoff = 26,
  Vmxon = 27,
  CrAccess = 28,
  MovDr = 29,
  IoInstruction = 30,
  Rdmsr = 31,
  Wrmsr = 32,
  InvalidGuestState = 33,
  MsrLoading = 34,
  Mwait = 36,
  MonitorTrapFlag = 37,
  Monitor = 39,
  Pause = 40,
  MachineCheck = 41,
  TprBelowThreshold = 43,
  ApicAccess = 44,
  VirtualizedEoi = 45,
  GdtrIdtrAccess = 46,
  LdtrTrAccess = 47,
  EptViolation = 48,
  EptMisconfig = 49,
  Invept = 50,
  Rdtscp = 51,
  PreemptionTimer = 52,
  Invvpid = 53,
  Wbinvd = 54,
  Xsetbv = 55,
  ApicWrite = 56,
}

/** Exit-reason bit 31: VM-entry failure (SDM 24.9.1). */
export const EXIT_REASON_ENTRY_FAILURE = 0x80000000 | 0;

/** The SDM's names (KVM's VMX_EXIT_REASONS spelling) for traces and dumps; unnamed reasons are reserved. */
export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  0: 'EXCEPTION_NMI', 1: 'EXTERNAL_INTERRUPT', 2: 'TRIPLE_FAULT', 3: 'INIT_SIGNAL', 4: 'SIPI_SIGNAL',
  5: 'IO_SMI', 6: 'OTHER_SMI', 7: 'INTERRUPT_WINDOW', 8: 'NMI_WINDOW', 9: 'TASK_SWITCH', 10: 'CPUID',
  11: 'GETSEC', 12: 'HLT', 13: 'INVD', 14: 'INVLPG', 15: 'RDPMC', 16: 'RDTSC', 17: 'RSM', 18: 'VMCALL',
  19: 'VMCLEAR', 20: 'VMLAUNCH', 21: 'VMPTRLD', 22: 'VMPTRST', 23: 'VMREAD', 24: 'VMRESUME', 25: 'VMWRITE',
  26: 'VMOFF', 27: 'VMON', 28: 'CR_ACCESS', 29: 'DR_ACCESS', 30: 'IO_INSTRUCTION', 31: 'MSR_READ',
  32: 'MSR_WRITE', 33: 'INVALID_STATE', 34: 'MSR_LOAD_FAIL', 36: 'MWAIT_INSTRUCTION', 37: 'MONITOR_TRAP_FLAG',
  39: 'MONITOR_INSTRUCTION', 40: 'PAUSE_INSTRUCTION', 41: 'MCE_DURING_VMENTRY', 43: 'TPR_BELOW_THRESHOLD',
  44: 'APIC_ACCESS', 45: 'EOI_INDUCED', 46: 'GDTR_IDTR', 47: 'LDTR_TR', 48: 'EPT_VIOLATION',
  49: 'EPT_MISCONFIG', 50: 'INVEPT', 51: 'RDTSCP', 52: 'PREEMPTION_TIMER', 53: 'INVVPID', 54: 'WBINVD',
  55: 'XSETBV', 56: 'APIC_WRITE',
};

/** Interruption-information format (4016, 4404, 4408; SDM 24.8.3, 24.9.2). */
export const enum IntrInfo {
  VectorMask = 0xff,
  TypeShift = 8,
  ErrorCodeValid = 1 << 11,
  NmiUnblockingIret = 1 << 12,
  Valid = 0x80000000 | 0,
}

/** Interruption types (bits 10:8). */
export const enum IntrType {
  External = 0,
  Nmi = 2,
  HardwareException = 3,
  SoftwareInterrupt = 4,
  PrivilegedSoftwareException = 5,
  SoftwareException = 6,
  Other = 7,
}

/** Guest interruptibility state (4824, SDM 24.4.2). */
export const enum Interruptibility {
  Sti = 1 << 0,
  MovSs = 1 << 1,
  Smi = 1 << 2,
  Nmi = 1 << 3,
}

/** Guest activity states (4826). */
export const enum ActivityState {
  Active = 0,
  Hlt = 1,
  Shutdown = 2,
  WaitForSipi = 3,
}

/** VM-instruction error numbers (field 4400, SDM 30.4). */
export const enum VmxError {
  VmcallInRoot = 1,
  VmclearInvalidAddress = 2,
  VmclearVmxonPointer = 3,
  VmlaunchNonClear = 4,
  VmresumeNonLaunched = 5,
  VmresumeAfterVmxoff = 6,
  EntryInvalidControls = 7,
  EntryInvalidHostState = 8,
  VmptrldInvalidAddress = 9,
  VmptrldVmxonPointer = 10,
  VmptrldBadRevision = 11,
  UnsupportedComponent = 12,
  WriteReadOnlyComponent = 13,
  VmxonInRoot = 15,
  EntryEventsBlockedByMovSs = 26,
  InvalidInveptOperand = 28,
}
