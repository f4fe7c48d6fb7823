// One VMCS's contents, held off-memory in typed arrays (the SDM leaves the region's layout to the
// implementation, Vol. 3 24.2), with VMREAD/VMWRITE's width rules. Which VMCS is current is vmx-unit.ts'.

import type { PhysicalMemory } from '../core/physical-memory.js';
import { FIELD_COUNT, FieldType, FieldWidth, fieldSlot, fieldType, fieldWidth } from './vmcs-fields.js';

/**
 * The region's layout, which the SDM leaves to the implementation (Vol. 3 24.2): 0 revision identifier,
 * 4 VMX-abort indicator, 8 launch state, 12 "launched before VMXOFF", then bits 31:0 and 63:32 of each field.
 */
const REGION_LAUNCH = 8;
const REGION_VMXOFF = 12;
const REGION_DATA = 16;
export const VMCS_REGION_BYTES = REGION_DATA + FIELD_COUNT * 8;

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

  /** Writes this VMCS's data into its region (VMCLEAR, or the processor evicting it from its cache). */
  writeBack(memory: PhysicalMemory): void {
    const a = this.address >>> 0;
    // Only RAM: a region a guest placed over device registers is not written (it holds nothing readable back).
    if (!memory.isRam(a) || !memory.isRam(a + VMCS_REGION_BYTES - 1)) return;
    memory.write(a + REGION_LAUNCH, 4, this.launchState);
    memory.write(a + REGION_VMXOFF, 4, this.launchedBeforeVmxoff ? 1 : 0);
    for (let i = 0; i < FIELD_COUNT; i++) {
      memory.write(a + REGION_DATA + 8 * i, 4, this.lo[i]);
      memory.write(a + REGION_DATA + 8 * i + 4, 4, this.hi[i]);
    }
  }

  /** The VMCS whose data a region holds (VMPTRLD of a VMCS not in the processor's cache). */
  static readFrom(memory: PhysicalMemory, address: number): Vmcs {
    const v = new Vmcs(address);
    const a = address >>> 0;
    if (!memory.isRam(a) || !memory.isRam(a + VMCS_REGION_BYTES - 1)) return v;
    v.launchState = memory.read(a + REGION_LAUNCH, 4) === LaunchState.Launched ? LaunchState.Launched : LaunchState.Clear;
    v.launchedBeforeVmxoff = memory.read(a + REGION_VMXOFF, 4) === 1;
    for (let i = 0; i < FIELD_COUNT; i++) {
      v.lo[i] = memory.read(a + REGION_DATA + 8 * i, 4);
      v.hi[i] = memory.read(a + REGION_DATA + 8 * i + 4, 4);
    }
    return v;
  }

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
