// Owns the 64-word EEPROM (MAC, IDs, checksum word) and both ways to read it: EERD (82540 layout) and the EECD
// Microwire bit-bang interface (devices.md 1.9). Leaves the register file and dispatch to e1000.ts.

import { Eecd, Eerd } from './e1000-regs.js';

export const EEPROM_WORDS = 64;
/** Word 0x3F makes the 16-bit sum of all 64 words equal this (devices.md 1.9). */
export const EEPROM_SUM = 0xbaba;
const CHECKSUM_WORD = 0x3f;
const MICROWIRE_READ_OPCODE = 0b110;
/** 3 opcode bits + 6 address bits are shifted in before data comes out. */
const MICROWIRE_COMMAND_BITS = 9;

/** QEMU's template (devices.md 1.9); words 0-2 (MAC), 0B/0D (device ID) and 3F (checksum) are filled in. */
const TEMPLATE: readonly number[] = [
  0x0000, 0x0000, 0x0000, 0x0000, 0xffff, 0x0000, 0x0000, 0x0000,
  0x3000, 0x1000, 0x6403, 0x0000, 0x8086, 0x0000, 0x8086, 0x3040,
  0x0008, 0x2000, 0x7e14, 0x0048, 0x1000, 0x00d8, 0x0000, 0x2700,
  0x6cc9, 0x3150, 0x0722, 0x040b, 0x0984, 0x0000, 0xc000, 0x0706,
  0x1008, 0x0000, 0x0f04, 0x7fff, 0x4d01, 0xffff, 0xffff, 0xffff,
  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
  0x0100, 0x4000, 0x121c, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0x0000,
];

export class E1000Eeprom {
  readonly words = new Uint16Array(EEPROM_WORDS);
  // Microwire state (EECD bit-bang): the control bits software drove last, bits shifted in, the output position.
  private eecdPins = 0;
  private bitsIn = 0;
  private shiftIn = 0;
  private reading = false;
  /** Bit position of DO: word = position >> 4, bit = 15 - (position & 15). */
  private outPosition = 0;

  constructor(mac: Uint8Array, deviceId: number) {
    this.words.set(TEMPLATE);
    this.words[0] = mac[0] | (mac[1] << 8);
    this.words[1] = mac[2] | (mac[3] << 8);
    this.words[2] = mac[4] | (mac[5] << 8);
    this.words[0x0b] = deviceId;
    this.words[0x0d] = deviceId;
    let sum = 0;
    for (let i = 0; i < CHECKSUM_WORD; i++) sum += this.words[i];
    this.words[CHECKSUM_WORD] = (EEPROM_SUM - sum) & 0xffff;
  }

  /**
   * EERD as read: with START set the read completes at once, DATA | DONE | ADDR (START reads 0); addresses
   * beyond the 64 words return DONE with DATA 0. Without START the stored value (QEMU). No side effects.
   */
  eerdValue(stored: number): number {
    if ((stored & Eerd.START) === 0) return stored >>> 0;
    const address = (stored >>> Eerd.ADDR_SHIFT) & 0xff;
    const kept = stored & ~Eerd.START & 0xffff;
    const data = address < EEPROM_WORDS ? this.words[address] : 0;
    return ((data << Eerd.DATA_SHIFT) | kept | Eerd.DONE) >>> 0;
  }

  /** EECD as read: PRES | GNT always (QEMU), the pins software drives, and DO from the Microwire output. */
  eecdValue(): number {
    let value = Eecd.PRES | Eecd.GNT | (this.eecdPins & (Eecd.SK | Eecd.CS | Eecd.DI | Eecd.REQ));
    if (this.reading && (this.eecdPins & Eecd.CS) !== 0) {
      const word = this.words[(this.outPosition >>> 4) & (EEPROM_WORDS - 1)];
      if (((word >>> (15 - (this.outPosition & 15))) & 1) !== 0) value |= Eecd.DO;
    }
    return value;
  }

  /**
   * EECD write (93C46-style Microwire, as Linux e1000_shift_out/in_ee_bits drive it): CS low resets the
   * interface; on an SK rising edge DI is shifted in; after opcode 110b and 6 address bits the part outputs
   * the addressed word MSB first, advancing one bit on each SK falling edge (sequential reads continue).
   */
  eecdWrite(value: number): void {
    const previous = this.eecdPins;
    this.eecdPins = value;
    if ((value & Eecd.CS) === 0) {
      this.bitsIn = 0;
      this.shiftIn = 0;
      this.reading = false;
      return;
    }
    if ((previous & Eecd.CS) === 0) {
      this.bitsIn = 0;
      this.shiftIn = 0;
      this.reading = false;
    }
    if (((previous ^ value) & Eecd.SK) === 0) return;
    if ((value & Eecd.SK) === 0) {
      if (this.reading) this.outPosition = (this.outPosition + 1) & (EEPROM_WORDS * 16 - 1);
      return;
    }
    if (this.reading) return;
    this.shiftIn = ((this.shiftIn << 1) | ((value & Eecd.DI) !== 0 ? 1 : 0)) & 0x1ff;
    if (++this.bitsIn === MICROWIRE_COMMAND_BITS) {
      if (this.shiftIn >>> 6 === MICROWIRE_READ_OPCODE) {
        this.reading = true;
        // The falling edge that ends the address bit moves DO onto bit 15 of the addressed word.
        this.outPosition = (((this.shiftIn & 0x3f) << 4) - 1) & (EEPROM_WORDS * 16 - 1);
      }
    }
  }

  /** Back to idle (CTRL.RST): the image itself is non-volatile. */
  reset(): void {
    this.eecdPins = 0;
    this.bitsIn = 0;
    this.shiftIn = 0;
    this.reading = false;
    this.outPosition = 0;
  }
}

/** Parses "52:54:00:12:34:56" (or '-' separated) into 6 bytes; throws on anything else (build time only). */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RangeError(`MAC address "${text}" is not six hex bytes`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}
