// The local APIC's register map as data: register indices (xAPIC offset >> 4 = x2APIC MSR - 0x800), bit
// fields, and the x2APIC access/reserved-bit tables. Behaviour lives in local-apic.ts and apic-timer.ts.

/**
 * Register index = xAPIC MMIO offset >> 4 = x2APIC MSR - 0x800 (SDM Vol. 3 11.12.1.2, Table 11-6;
 * devices.md 6.4; vmx.md 9.2).
 */
export const enum ApicReg {
  Id = 0x02,
  Version = 0x03,
  Tpr = 0x08,
  Apr = 0x09,
  Ppr = 0x0a,
  Eoi = 0x0b,
  Rrd = 0x0c,
  Ldr = 0x0d,
  Dfr = 0x0e,
  Svr = 0x0f,
  Isr0 = 0x10,
  Tmr0 = 0x18,
  Irr0 = 0x20,
  Esr = 0x28,
  LvtCmci = 0x2f,
  IcrLo = 0x30,
  IcrHi = 0x31,
  LvtTimer = 0x32,
  LvtThermal = 0x33,
  LvtPerf = 0x34,
  LvtLint0 = 0x35,
  LvtLint1 = 0x36,
  LvtError = 0x37,
  TimerInitial = 0x38,
  TimerCurrent = 0x39,
  TimerDivide = 0x3e,
  SelfIpi = 0x3f,
}

/** Number of register slots (offsets 0x000-0x3F0). */
export const APIC_REG_COUNT = 0x40;

/** MSR indices the APIC answers (SDM Vol. 4; vmx.md 9.1, 9.2, 9.5). */
export const enum ApicMsr {
  ApicBase = 0x1b,
  TscDeadline = 0x6e0,
  X2apicFirst = 0x800,
  X2apicLast = 0x8ff,
}

/** IA32_APIC_BASE bits (SDM Vol. 3 11.4.4, Figure 11-5). */
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_EXTD = 1 << 10;
export const APIC_BASE_EN = 1 << 11;
/** Bits 7:0 and 9 are reserved: a WRMSR setting them raises #GP (KVM: mask 0x2ff). */
export const APIC_BASE_RESERVED_LO = 0x2ff;
export const APIC_BASE_ADDRESS_MASK_LO = 0xfffff000;
/** The reset base address (devices.md 6.4). */
export const APIC_DEFAULT_BASE = 0xfee00000;
/** The MMIO window the machine maps at the base: one 4 KiB page. */
export const APIC_MMIO_SIZE = 0x1000;

/** (EN, EXTD) states of SDM Vol. 3 11.12.5. */
export const enum ApicMode {
  Disabled = 0,
  XApic = 1,
  X2Apic = 2,
}

/** Integrated APIC version 0x14; six LVT entries (timer, thermal, perf, LINT0, LINT1, error; no CMCI). */
export const APIC_VERSION_NUMBER = 0x14;
export const APIC_LVT_ENTRIES = 6;
/** Version register: bits 7:0 version, 23:16 max LVT entry (entries - 1), bit 24 EOI-broadcast suppression = 0. */
export const APIC_VERSION = APIC_VERSION_NUMBER | ((APIC_LVT_ENTRIES - 1) << 16);

/** SVR bits (SDM Vol. 3 11.9, Figure 11-23). Bit 12 (EOI-broadcast suppression) is unsupported: reserved. */
export const SVR_VECTOR = 0xff;
export const SVR_APIC_ENABLED = 1 << 8;
export const SVR_FOCUS_DISABLED = 1 << 9;
export const SVR_WRITABLE = SVR_VECTOR | SVR_APIC_ENABLED | SVR_FOCUS_DISABLED;
export const SVR_RESET = 0xff;

/** ESR bits (SDM Vol. 3 11.5.3, Figure 11-9). */
export const enum EsrBit {
  SendChecksum = 1 << 0,
  ReceiveChecksum = 1 << 1,
  SendAccept = 1 << 2,
  ReceiveAccept = 1 << 3,
  RedirectableIpi = 1 << 4,
  SendIllegalVector = 1 << 5,
  ReceiveIllegalVector = 1 << 6,
  IllegalRegisterAddress = 1 << 7,
}

/** Delivery modes of ICR, LVT and MSI data bits 10:8 (SDM Vol. 3 11.6.1, 11.11.2). */
export const enum DeliveryMode {
  Fixed = 0,
  LowestPriority = 1,
  Smi = 2,
  Nmi = 4,
  Init = 5,
  StartUp = 6,
  ExtInt = 7,
}

/** ICR bits (SDM Vol. 3 11.6.1 Figure 11-12; 11.12.9 Figure 11-28 for x2APIC). */
export const ICR_VECTOR = 0xff;
export const ICR_DEST_LOGICAL = 1 << 11;
export const ICR_DELIVERY_STATUS = 1 << 12;
export const ICR_LEVEL_ASSERT = 1 << 14;
export const ICR_TRIGGER_LEVEL = 1 << 15;
export const ICR_SHORTHAND_SHIFT = 18;
/** Low-dword bits software can write: vector, mode, dest mode, level, trigger, shorthand. */
export const ICR_LO_WRITABLE = 0x000ccfff;
/** x2APIC ICR low-dword reserved bits: 31:20, 17:16, 13 (bit 12 is ignored, KVM clears it). */
export const X2APIC_ICR_RESERVED = 0xfff32000 | 0;
/** xAPIC ICR high dword: destination in bits 31:24. */
export const ICR_HI_XAPIC_WRITABLE = 0xff000000 | 0;

/** Destination shorthands (ICR bits 19:18). */
export const enum Shorthand {
  None = 0,
  Self = 1,
  AllIncludingSelf = 2,
  AllExcludingSelf = 3,
}

/** LVT bits (SDM Vol. 3 11.5.1, Figure 11-8). */
export const LVT_VECTOR = 0xff;
export const LVT_DELIVERY_STATUS = 1 << 12;
export const LVT_REMOTE_IRR = 1 << 14;
export const LVT_MASKED = 1 << 16;
export const LVT_TIMER_MODE_SHIFT = 17;
/** The reset value of every LVT entry: masked, everything else 0. */
export const LVT_RESET = LVT_MASKED;

/** LVT timer modes (bits 18:17). 3 is reserved: it counts like one-shot here. */
export const enum TimerMode {
  OneShot = 0,
  Periodic = 1,
  TscDeadline = 2,
  Reserved = 3,
}

/** Per LVT entry (index = reg - LvtTimer): the bits software can write. */
export const LVT_WRITABLE: readonly number[] = [
  0x000700ff, // timer: vector, mask, mode 18:17
  0x000107ff, // thermal: vector, delivery mode, mask
  0x000107ff, // performance counters: vector, delivery mode, mask
  0x0001a7ff, // LINT0: vector, delivery mode, polarity 13, trigger 15, mask
  0x0001a7ff, // LINT1: same layout (software should keep trigger = edge, SDM 11.5.1)
  0x000100ff, // error: vector, mask
];

/** Per LVT entry: read-only bits (delivery status; remote IRR on LINT0/1). Not reserved: writes ignore them. */
const LVT_READ_ONLY: readonly number[] = [
  LVT_DELIVERY_STATUS,
  LVT_DELIVERY_STATUS,
  LVT_DELIVERY_STATUS,
  LVT_DELIVERY_STATUS | LVT_REMOTE_IRR,
  LVT_DELIVERY_STATUS | LVT_REMOTE_IRR,
  LVT_DELIVERY_STATUS,
];

/** Divide configuration: bits 3, 1, 0 (bit 2 reserved; SDM Vol. 3 11.5.4, Figure 11-10). */
export const TDCR_WRITABLE = 0xb;

/** x2APIC access flags per register index. */
export const enum X2Access {
  None = 0,
  Read = 1,
  Write = 2,
  ReadWrite = 3,
}

/** Which registers exist in x2APIC mode and how (SDM Vol. 3 Table 11-6; vmx.md 9.2). */
export const X2APIC_ACCESS = new Uint8Array(APIC_REG_COUNT);
/**
 * Bits a WRMSR must leave 0 (SDM Vol. 3 11.12.1.3 "Reserved Bit Checking": a non-zero write to a reserved bit
 * raises #GP(0)). EOI and ESR accept only 0 (Table 11-6). The ICR has its own 64-bit check.
 */
export const X2APIC_RESERVED = new Uint32Array(APIC_REG_COUNT);

function x2(reg: number, access: X2Access, reserved: number): void {
  X2APIC_ACCESS[reg] = access;
  X2APIC_RESERVED[reg] = reserved >>> 0;
}

x2(ApicReg.Id, X2Access.Read, 0);
x2(ApicReg.Version, X2Access.Read, 0);
x2(ApicReg.Tpr, X2Access.ReadWrite, ~0xff);
x2(ApicReg.Ppr, X2Access.Read, 0);
x2(ApicReg.Eoi, X2Access.Write, ~0);
x2(ApicReg.Ldr, X2Access.Read, 0);
x2(ApicReg.Svr, X2Access.ReadWrite, ~SVR_WRITABLE);
for (let i = 0; i < 8; i++) {
  x2(ApicReg.Isr0 + i, X2Access.Read, 0);
  x2(ApicReg.Tmr0 + i, X2Access.Read, 0);
  x2(ApicReg.Irr0 + i, X2Access.Read, 0);
}
x2(ApicReg.Esr, X2Access.ReadWrite, ~0);
x2(ApicReg.IcrLo, X2Access.ReadWrite, X2APIC_ICR_RESERVED);
for (let i = 0; i < APIC_LVT_ENTRIES; i++) {
  x2(ApicReg.LvtTimer + i, X2Access.ReadWrite, ~(LVT_WRITABLE[i] | LVT_READ_ONLY[i]));
}
x2(ApicReg.TimerInitial, X2Access.ReadWrite, 0);
x2(ApicReg.TimerCurrent, X2Access.Read, 0);
x2(ApicReg.TimerDivide, X2Access.ReadWrite, ~TDCR_WRITABLE);
x2(ApicReg.SelfIpi, X2Access.Write, ~0xff);
// Absent in x2APIC mode (#GP): APR 809, RRD 80C, DFR 80E, LVT CMCI 82F (no CMCI here), ICR high 831, and
// every unlisted index in 800-83F; 840-8FF are reserved.

/** The first illegal vector boundary: vectors 0-15 are never accepted nor sent (SDM Vol. 3 11.5.2). */
export const FIRST_LEGAL_VECTOR = 16;

/** The divisor a divide configuration value selects: bits 3,1,0 = 000 -> 2 ... 110 -> 128, 111 -> 1. */
export function divisorOf(tdcr: number): number {
  const v = ((tdcr & 8) >> 1) | (tdcr & 3);
  return v === 7 ? 1 : 2 << v;
}
