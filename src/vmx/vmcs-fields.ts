// The VMCS components this processor implements, by their SDM encodings (Vol. 3 appendix B; digest vmx.md
// section 2), with the encoding's width and type. Storage and VMREAD/VMWRITE semantics are vmcs.ts'.

/**
 * Every supported field. A field of a feature this CPU does not have (VPID, TPR shadow, posted interrupts,
 * PAE PDPTEs, PAT/EFER controls, PML, VM functions) is absent: VMREAD/VMWRITE of it fail with error 12,
 * as on a processor without the feature (SDM Vol. 3 24.11.2).
 */
export const VmcsField = {
  // 16-bit guest state (0800-080E)
  GuestEsSelector: 0x0800,
  GuestCsSelector: 0x0802,
  GuestSsSelector: 0x0804,
  GuestDsSelector: 0x0806,
  GuestFsSelector: 0x0808,
  GuestGsSelector: 0x080a,
  GuestLdtrSelector: 0x080c,
  GuestTrSelector: 0x080e,
  // 16-bit host state (0C00-0C0C)
  HostEsSelector: 0x0c00,
  HostCsSelector: 0x0c02,
  HostSsSelector: 0x0c04,
  HostDsSelector: 0x0c06,
  HostFsSelector: 0x0c08,
  HostGsSelector: 0x0c0a,
  HostTrSelector: 0x0c0c,
  // 64-bit controls (FULL encodings; HIGH = +1)
  IoBitmapA: 0x2000,
  IoBitmapB: 0x2002,
  MsrBitmap: 0x2004,
  ExitMsrStoreAddress: 0x2006,
  ExitMsrLoadAddress: 0x2008,
  EntryMsrLoadAddress: 0x200a,
  ExecutiveVmcsPointer: 0x200c,
  TscOffset: 0x2010,
  EptPointer: 0x201a,
  // 64-bit read-only data
  GuestPhysicalAddress: 0x2400,
  // 64-bit guest state
  VmcsLinkPointer: 0x2800,
  GuestDebugCtl: 0x2802,
  // 32-bit controls
  PinControls: 0x4000,
  ProcControls: 0x4002,
  ExceptionBitmap: 0x4004,
  PfErrorCodeMask: 0x4006,
  PfErrorCodeMatch: 0x4008,
  Cr3TargetCount: 0x400a,
  ExitControls: 0x400c,
  ExitMsrStoreCount: 0x400e,
  ExitMsrLoadCount: 0x4010,
  EntryControls: 0x4012,
  EntryMsrLoadCount: 0x4014,
  EntryInterruptionInfo: 0x4016,
  EntryExceptionErrorCode: 0x4018,
  EntryInstructionLength: 0x401a,
  ProcControls2: 0x401e,
  // 32-bit read-only data
  VmInstructionError: 0x4400,
  ExitReason: 0x4402,
  ExitInterruptionInfo: 0x4404,
  ExitInterruptionErrorCode: 0x4406,
  IdtVectoringInfo: 0x4408,
  IdtVectoringErrorCode: 0x440a,
  ExitInstructionLength: 0x440c,
  ExitInstructionInfo: 0x440e,
  // 32-bit guest state
  GuestEsLimit: 0x4800,
  GuestCsLimit: 0x4802,
  GuestSsLimit: 0x4804,
  GuestDsLimit: 0x4806,
  GuestFsLimit: 0x4808,
  GuestGsLimit: 0x480a,
  GuestLdtrLimit: 0x480c,
  GuestTrLimit: 0x480e,
  GuestGdtrLimit: 0x4810,
  GuestIdtrLimit: 0x4812,
  GuestEsAr: 0x4814,
  GuestCsAr: 0x4816,
  GuestSsAr: 0x4818,
  GuestDsAr: 0x481a,
  GuestFsAr: 0x481c,
  GuestGsAr: 0x481e,
  GuestLdtrAr: 0x4820,
  GuestTrAr: 0x4822,
  GuestInterruptibility: 0x4824,
  GuestActivityState: 0x4826,
  GuestSmbase: 0x4828,
  GuestSysenterCs: 0x482a,
  PreemptionTimerValue: 0x482e,
  // 32-bit host state
  HostSysenterCs: 0x4c00,
  // natural-width controls
  Cr0GuestHostMask: 0x6000,
  Cr4GuestHostMask: 0x6002,
  Cr0ReadShadow: 0x6004,
  Cr4ReadShadow: 0x6006,
  Cr3Target0: 0x6008,
  Cr3Target1: 0x600a,
  Cr3Target2: 0x600c,
  Cr3Target3: 0x600e,
  // natural-width read-only data
  ExitQualification: 0x6400,
  IoRcx: 0x6402,
  IoRsi: 0x6404,
  IoRdi: 0x6406,
  IoRip: 0x6408,
  GuestLinearAddress: 0x640a,
  // natural-width guest state
  GuestCr0: 0x6800,
  GuestCr3: 0x6802,
  GuestCr4: 0x6804,
  GuestEsBase: 0x6806,
  GuestCsBase: 0x6808,
  GuestSsBase: 0x680a,
  GuestDsBase: 0x680c,
  GuestFsBase: 0x680e,
  GuestGsBase: 0x6810,
  GuestLdtrBase: 0x6812,
  GuestTrBase: 0x6814,
  GuestGdtrBase: 0x6816,
  GuestIdtrBase: 0x6818,
  GuestDr7: 0x681a,
  GuestRsp: 0x681c,
  GuestRip: 0x681e,
  GuestRflags: 0x6820,
  GuestPendingDebugExceptions: 0x6822,
  GuestSysenterEsp: 0x6824,
  GuestSysenterEip: 0x6826,
  // natural-width host state
  HostCr0: 0x6c00,
  HostCr3: 0x6c02,
  HostCr4: 0x6c04,
  HostFsBase: 0x6c06,
  HostGsBase: 0x6c08,
  HostTrBase: 0x6c0a,
  HostGdtrBase: 0x6c0c,
  HostIdtrBase: 0x6c0e,
  HostSysenterEsp: 0x6c10,
  HostSysenterEip: 0x6c12,
  HostRsp: 0x6c14,
  HostRip: 0x6c16,
} as const;

export type VmcsFieldName = keyof typeof VmcsField;

/** Encoding bits 14:13 (SDM Vol. 3 24.11.2). */
export const enum FieldWidth {
  Bits16 = 0,
  Bits64 = 1,
  Bits32 = 2,
  Natural = 3,
}

/** Encoding bits 11:10. */
export const enum FieldType {
  Control = 0,
  ReadOnly = 1,
  Guest = 2,
  Host = 3,
}

export const fieldWidth = (encoding: number): FieldWidth => (encoding >>> 13) & 3;
export const fieldType = (encoding: number): FieldType => (encoding >>> 10) & 3;

/** Guest segment fields in the SDM's register order ES CS SS DS FS GS LDTR TR (selector, limit, AR, base). */
export const GUEST_SEGMENT_FIELDS: ReadonlyArray<{ selector: number; limit: number; ar: number; base: number }> = [0, 1, 2, 3, 4, 5, 6, 7].map(
  (i) => ({ selector: 0x0800 + 2 * i, limit: 0x4800 + 2 * i, ar: 0x4814 + 2 * i, base: 0x6806 + 2 * i }),
);

/** Number of supported fields, and field slot by FULL encoding (-1 = unsupported). */
export const FIELD_ENCODINGS: readonly number[] = Object.values(VmcsField);
export const FIELD_COUNT = FIELD_ENCODINGS.length;
const SLOT = new Int16Array(0x8000).fill(-1);
FIELD_ENCODINGS.forEach((e, i) => (SLOT[e] = i));

const NAMES = new Map<number, string>(Object.entries(VmcsField).map(([name, e]) => [e, name]));

/** The storage slot of a FULL encoding, or -1. */
export function fieldSlot(encoding: number): number {
  return encoding >>> 0 < 0x8000 ? SLOT[encoding] : -1;
}

/** The field's name as in VmcsField (HIGH halves get a "High" suffix), or null. */
export function fieldName(encoding: number): string | null {
  const e = encoding >>> 0;
  if ((e & 1) !== 0 && fieldWidth(e) === FieldWidth.Bits64) {
    const n = NAMES.get(e & ~1);
    return n === undefined ? null : `${n}High`;
  }
  return NAMES.get(e) ?? null;
}

/** IA32_VMX_VMCS_ENUM bits 9:1: the highest index (encoding bits 9:1) of any supported field (SDM appendix A.9). */
export const HIGHEST_FIELD_INDEX = Math.max(...FIELD_ENCODINGS.map((e) => (e >>> 1) & 0x1ff));
