// One VMCS's contents, held off-memory in typed arrays (the SDM leaves the region's layout to the
// implementation, Vol. 3 24.2), with VMREAD/VMWRITE's width rules. Which VMCS is current is vmx-unit.ts'.

import { FIELD_COUNT, FieldType, FieldWidth, fieldSlot, fieldType, fieldWidth } from './vmcs-fields.js';

export const enum LaunchState {
  Clear = 0,
  Launched = 1,
}

/** VMREAD result codes: >= 0 never; the value lands in Vmcs.readValue. */
export const enum FieldAccess {
  Ok = 0,
  Unsupported = 12,
  ReadOnly = 13,
}

export class Vmcs {
  /** Bits 31:0 and 63:32 of each field (natural and 32-bit fields use lo only). */
  readonly lo = new Int32Array(FIELD_COUNT);
  readonly hi = new Int32Array(FIELD_COUNT);
  launchState = LaunchState.Clear;
  /** Set by VMXOFF while this VMCS was launched: the next VMRESUME fails with error 6 (SDM 30.3 VMRESUME). */
  launchedBeforeVmxoff = false;
  /** The last VMREAD's value (no allocation per read). */
  readValue = 0;

  constructor(readonly address: number) {}

  /** Reads a field for the hardware (VM entry/exit): the low 32 bits, 0 for an unsupported encoding. */
  get(encoding: number): number {
    const slot = fieldSlot(encoding);
    return slot < 0 ? 0 : this.lo[slot];
  }

  /** High 32 bits of a 64-bit field. */
  getHigh(encoding: number): number {
    const slot = fieldSlot(encoding);
    return slot < 0 ? 0 : this.hi[slot];
  }

  /** Writes a field for the hardware (exit information, saved guest state), with the field's width. */
  set(encoding: number, value: number): void {
    const slot = fieldSlot(encoding);
    if (slot < 0) return;
    this.lo[slot] = fieldWidth(encoding) === FieldWidth.Bits16 ? value & 0xffff : value | 0;
    if (fieldWidth(encoding) === FieldWidth.Bits64) this.hi[slot] = 0;
  }

  setHigh(encoding: number, value: number): void {
    const slot = fieldSlot(encoding);
    if (slot >= 0) this.hi[slot] = value | 0;
  }

  /**
   * VMREAD (SDM Vol. 3 30.3): encoding bits 31:15 and 12 must be 0, HIGH access only for 64-bit fields; a
   * 64-bit FULL read returns bits 31:0 outside 64-bit mode.
   */
  vmread(encoding: number): FieldAccess {
    const e = encoding >>> 0;
    const slot = checkEncoding(e);
    if (slot < 0) return FieldAccess.Unsupported;
    this.readValue = (e & 1) !== 0 ? this.hi[slot] : this.lo[slot];
    return FieldAccess.Ok;
  }

  /**
   * VMWRITE: read-only data fields fail with error 13 (IA32_VMX_MISC[29] = 0); a 16-bit field keeps bits 15:0;
   * a FULL write of a 64-bit field clears bits 63:32 outside 64-bit mode, a HIGH write sets only 63:32.
   */
  vmwrite(encoding: number, value: number): FieldAccess {
    const e = encoding >>> 0;
    const slot = checkEncoding(e);
    if (slot < 0) return FieldAccess.Unsupported;
    if (fieldType(e) === FieldType.ReadOnly) return FieldAccess.ReadOnly;
    if ((e & 1) !== 0) {
      this.hi[slot] = value | 0;
    } else {
      const w = fieldWidth(e);
      this.lo[slot] = w === FieldWidth.Bits16 ? value & 0xffff : value | 0;
      if (w === FieldWidth.Bits64) this.hi[slot] = 0;
    }
    return FieldAccess.Ok;
  }
}

/** The storage slot for a VMREAD/VMWRITE encoding, or -1 when the component is unsupported. */
function checkEncoding(e: number): number {
  if (e > 0x7fff || (e & 0x1000) !== 0) return -1;
  if ((e & 1) !== 0) {
    if (fieldWidth(e) !== FieldWidth.Bits64) return -1;
    return fieldSlot(e & ~1);
  }
  return fieldSlot(e);
}
