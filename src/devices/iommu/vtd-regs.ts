// VT-d register offsets, bit fields, the capability values this unit advertises, and fault reason numbers
// (VT-d spec chapter 10 / devices.md 3.1-3.8). Behaviour lives in vtd.ts and its helpers; this file is data.

/** Register offsets in the 4 KiB remapping-unit page (devices.md 3.1). */
export const enum VtdReg {
  VER = 0x000,
  CAP = 0x008,
  ECAP = 0x010,
  GCMD = 0x018,
  GSTS = 0x01c,
  RTADDR = 0x020,
  CCMD = 0x028,
  FSTS = 0x034,
  FECTL = 0x038,
  FEDATA = 0x03c,
  FEADDR = 0x040,
  FEUADDR = 0x044,
  AFLOG = 0x058,
  PMEN = 0x064,
  IQH = 0x080,
  IQT = 0x088,
  IQA = 0x090,
  ICS = 0x09c,
  IECTL = 0x0a0,
  IEDATA = 0x0a4,
  IEADDR = 0x0a8,
  IEUADDR = 0x0ac,
  IRTA = 0x0b8,
  /** IOTLB registers at ECAP.IRO x 16 (QEMU's placement). */
  IVA = 0x0f0,
  IOTLB = 0x0f8,
  /** Fault recording registers at CAP.FRO x 16, 16 bytes each. */
  FRCD = 0x220,
}

/** Number of fault recording registers (CAP.NFR + 1). */
export const FRCD_COUNT = 4;
/** Bytes of the register page that hold registers (everything above reads 0). */
export const VTD_REGS_END = VtdReg.FRCD + 16 * FRCD_COUNT;
export const VTD_PAGE_BYTES = 0x1000;

/** Host address width: table and page addresses must fit in 39 bits (QEMU's default HAW). */
export const HAW = 39;
/** Mask of the high dword of a 64-bit address field that lies above HAW (bits 63:39 -> dword bits 31:7). */
export const ABOVE_HAW_HI = 0xffffff80 | 0;
/** Largest guest address width (CAP.MGAW + 1): 48 bits, the 4-level table's reach. */
export const MGAW_BITS = 48;
/** Max address-mask value for page-selective invalidation (CAP.MAMV). */
export const MAMV = 18;

// CAP (VT-d 10.4.2): ND=6 (16-bit domain IDs), SAGAW = 39-bit (3-level) + 48-bit (4-level), MGAW = 47,
// FRO = 0x22 (FRCD at 0x220), SLLPS = 2 MiB only, PSI, NFR = FRCD_COUNT - 1, MAMV = 18. Absent: AFL, RWBF,
// PLMR/PHMR, CM (not-present entries are never cached), ZLR, 1 GiB pages, DWD/DRD.
export const CAP_ND = 6;
export const SAGAW_39 = 1 << 1;
export const SAGAW_48 = 1 << 2;
export const CAP_LO = (((VtdReg.FRCD >>> 4) & 0xff) << 24) | ((MGAW_BITS - 1) << 16) | ((SAGAW_39 | SAGAW_48) << 8) | CAP_ND;
export const CAP_HI =
  (MAMV << 16) | ((FRCD_COUNT - 1) << 8) | (1 << 7) /* PSI */ | (1 << 2) /* SLLPS bit 34: 2 MiB */ | (VtdReg.FRCD >>> 12);

// ECAP (VT-d 10.4.3): C (our table reads are coherent with the CPU's RAM), QI, IR, PT, IRO = 0x0F
// (IOTLB registers at 0xF0), MHMV = 0xF. Absent: DT (device TLB), EIM (x2APIC IRTE destinations), SC, scalable mode.
export const ECAP_C = 1 << 0;
export const ECAP_QI = 1 << 1;
export const ECAP_IR = 1 << 3;
export const ECAP_PT = 1 << 6;
export const ECAP_LO = (0xf << 20) | ((VtdReg.IVA >>> 4) << 8) | ECAP_PT | ECAP_IR | ECAP_QI | ECAP_C;
export const ECAP_HI = 0;

export const VTD_VERSION = 0x10; // 1.0, as QEMU reports

/** GCMD / GSTS bits (devices.md 3.3); the status bit sits at the same position as its command. */
export const enum Gcmd {
  TE = 1 << 31,
  SRTP = 1 << 30,
  SFL = 1 << 29,
  EAFL = 1 << 28,
  WBF = 1 << 27,
  QIE = 1 << 26,
  IRE = 1 << 25,
  SIRTP = 1 << 24,
  CFI = 1 << 23,
}

/** FSTS bits (VT-d 10.4.9). */
export const enum Fsts {
  PFO = 1 << 0,
  PPF = 1 << 1,
  IQE = 1 << 4,
  /** FRI, bits 15:8. */
  FriShift = 8,
}

/** FECTL / IECTL bits. */
export const enum EventCtl {
  IM = 1 << 31,
  IP = 1 << 30,
}

/** Fault reasons (VT-d 7.1.3, devices.md 3.6): DMA remapping 0x01-0x0C, interrupt remapping 0x20-0x26. */
export const enum FaultReason {
  None = 0,
  RootNotPresent = 0x01,
  ContextNotPresent = 0x02,
  ContextInvalid = 0x03,
  AddressBeyondWidth = 0x04,
  WriteDenied = 0x05,
  ReadDenied = 0x06,
  PagingEntryError = 0x07,
  RootReadError = 0x08,
  ContextReadError = 0x09,
  RootReserved = 0x0a,
  ContextReserved = 0x0b,
  PagingEntryReserved = 0x0c,
  IrRequestReserved = 0x20,
  IrIndexBeyondTable = 0x21,
  IrEntryNotPresent = 0x22,
  IrTableReadError = 0x23,
  IrEntryReserved = 0x24,
  IrCompatBlocked = 0x25,
  IrSourceIdInvalid = 0x26,
}

/** Qualified faults: suppressed when the context entry's (or IRTE's) FPD bit is set (devices.md 3.6, 3.8). */
export function isQualified(reason: number): boolean {
  switch (reason) {
    case FaultReason.ContextNotPresent:
    case FaultReason.ContextInvalid:
    case FaultReason.AddressBeyondWidth:
    case FaultReason.WriteDenied:
    case FaultReason.ReadDenied:
    case FaultReason.PagingEntryError:
    case FaultReason.PagingEntryReserved:
    case FaultReason.IrEntryNotPresent:
    case FaultReason.IrEntryReserved:
    case FaultReason.IrSourceIdInvalid:
      return true;
    default:
      return false;
  }
}

/** What a register write does beyond storing its writable bits. */
export const enum RegAction {
  None = 0,
  Gcmd,
  CcmdHi,
  IotlbHi,
  Fsts,
  Fectl,
  FrcdHi,
  Iqt,
  Ics,
  Iectl,
}

/** One dword of the register file: its writable bits, write-1-to-clear bits, reset value and write action. */
export interface RegDword {
  name: string;
  offset: number;
  reset: number;
  rw: number;
  w1c: number;
  action: RegAction;
}

const d = (name: string, offset: number, reset: number, rw: number, w1c = 0, action = RegAction.None): RegDword => ({
  name,
  offset,
  reset,
  rw: rw | 0,
  w1c: w1c | 0,
  action,
});

/**
 * The register file as data (VT-d 10.4). 64-bit registers are two dwords (`.lo` / `.hi`); commands that
 * live in bit 63 (CCMD.ICC, IOTLB.IVT) act when the high dword is written, so a 64-bit write done as
 * low-then-high halves (the documented way) sees the low half's fields.
 */
export const REGISTER_TABLE: readonly RegDword[] = [
  d('VER', VtdReg.VER, VTD_VERSION, 0),
  d('CAP.lo', VtdReg.CAP, CAP_LO, 0),
  d('CAP.hi', VtdReg.CAP + 4, CAP_HI, 0),
  d('ECAP.lo', VtdReg.ECAP, ECAP_LO, 0),
  d('ECAP.hi', VtdReg.ECAP + 4, ECAP_HI, 0),
  d('GCMD', VtdReg.GCMD, 0, 0, 0, RegAction.Gcmd),
  d('GSTS', VtdReg.GSTS, 0, 0),
  d('RTADDR.lo', VtdReg.RTADDR, 0, 0xfffff000), // TTM (11:10) is reserved without scalable mode
  d('RTADDR.hi', VtdReg.RTADDR + 4, 0, ~ABOVE_HAW_HI),
  d('CCMD.lo', VtdReg.CCMD, 0, 0xffffffff), // SID 31:16, DID 15:0
  d('CCMD.hi', VtdReg.CCMD + 4, 0, 0x60000003, 0, RegAction.CcmdHi), // CIRG 62:61, FM 33:32 (ICC acts)
  d('FSTS', VtdReg.FSTS, 0, 0, Fsts.PFO | Fsts.IQE, RegAction.Fsts),
  d('FECTL', VtdReg.FECTL, EventCtl.IM, EventCtl.IM, 0, RegAction.Fectl),
  d('FEDATA', VtdReg.FEDATA, 0, 0xffff),
  d('FEADDR', VtdReg.FEADDR, 0, 0xfffffffc),
  d('FEUADDR', VtdReg.FEUADDR, 0, 0), // only with EIM (absent)
  d('IQH.lo', VtdReg.IQH, 0, 0),
  d('IQH.hi', VtdReg.IQH + 4, 0, 0),
  d('IQT.lo', VtdReg.IQT, 0, 0x7fff0, 0, RegAction.Iqt),
  d('IQT.hi', VtdReg.IQT + 4, 0, 0),
  d('IQA.lo', VtdReg.IQA, 0, 0xfffff007), // base 31:12, QS 2:0 (DW, bit 11, needs scalable mode)
  d('IQA.hi', VtdReg.IQA + 4, 0, ~ABOVE_HAW_HI),
  d('ICS', VtdReg.ICS, 0, 0, 1, RegAction.Ics),
  d('IECTL', VtdReg.IECTL, EventCtl.IM, EventCtl.IM, 0, RegAction.Iectl),
  d('IEDATA', VtdReg.IEDATA, 0, 0xffff),
  d('IEADDR', VtdReg.IEADDR, 0, 0xfffffffc),
  d('IEUADDR', VtdReg.IEUADDR, 0, 0),
  d('IRTA.lo', VtdReg.IRTA, 0, 0xfffff00f), // base 31:12, S 3:0 (EIME, bit 11, needs ECAP.EIM)
  d('IRTA.hi', VtdReg.IRTA + 4, 0, ~ABOVE_HAW_HI),
  d('IVA.lo', VtdReg.IVA, 0, 0xfffff07f), // address 31:12, IH 6, AM 5:0
  d('IVA.hi', VtdReg.IVA + 4, 0, ~ABOVE_HAW_HI),
  d('IOTLB.lo', VtdReg.IOTLB, 0, 0),
  d('IOTLB.hi', VtdReg.IOTLB + 4, 0, 0x3000ffff, 0, RegAction.IotlbHi), // IIRG 61:60, DID 47:32 (IVT acts)
  ...frcdDwords(),
];

function frcdDwords(): RegDword[] {
  const out: RegDword[] = [];
  for (let n = 0; n < FRCD_COUNT; n++) {
    const base = VtdReg.FRCD + 16 * n;
    out.push(d(`FRCD${n}.0`, base, 0, 0), d(`FRCD${n}.4`, base + 4, 0, 0), d(`FRCD${n}.8`, base + 8, 0, 0));
    out.push(d(`FRCD${n}.C`, base + 12, 0, 0, 1 << 31, RegAction.FrcdHi)); // F (bit 127) is RW1C
  }
  return out;
}
