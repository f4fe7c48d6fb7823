// Unit tests for src/cpu/exec/shift.ts: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD, checked
// against a literal transcription of the SDM Vol. 2 pseudocode (bit-at-a-time loops) and hand-worked cases.

import { describe, expect, it } from 'vitest';
import type { BusDevice } from '../../src/core/bus.js';
import { AF, CF, DATA_BASE, OF, PF, SF, STATUS_FLAGS, ZF, cpuRunner, type Regs, type RunResult } from '../helpers/cpu-runner.js';

const DF = 1 << 10;
const runner = cpuRunner();

/** One instruction on a freshly reset machine. */
function exec(code: number[], regs: Regs, flags: number, mem: [number, number[]][] = []): RunResult {
  runner.machine.reset();
  runner.bytes(code).regs(regs).flags(flags);
  for (const [addr, bytes] of mem) runner.mem(addr, bytes);
  return runner.step(1);
}

const disp32 = (a: number): number[] => [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, (a >>> 24) & 0xff];
const le = (v: number, bytes: number): number[] => Array.from({ length: bytes }, (_, i) => Math.floor(v / 2 ** (8 * i)) % 256);

function evenParity(v: number): boolean {
  let n = 0;
  for (let i = 0; i < 8; i++) n += Math.floor(v / 2 ** i) % 2;
  return n % 2 === 0;
}

// ---------------------------------------------------------------- SDM reference model

interface Ref {
  res: number;
  cf: number;
  /** Undefined where the SDM leaves OF undefined. */
  of: number | undefined;
  /** CF undefined by the SDM (SHL/SHR with count >= width); the value is still the loop's. */
  cfUndefined: boolean;
}

/**
 * SDM Vol. 2 "RCL/RCR/ROL/ROR" and "SAL/SAR/SHL/SHR" Operation sections, one bit per iteration, on
 * unsigned numbers (no bit operators, so it shares no code shape with the implementation).
 */
function sdmGroup2(kind: number, size: number, dest: number, count: number, cfIn: number): Ref {
  const SIZE = 2 ** size;
  const msb = (x: number): number => (x >= SIZE / 2 ? 1 : 0);
  const msb1 = (x: number): number => Math.floor(x / 2 ** (size - 2)) % 2;
  const lsb = (x: number): number => x % 2;
  const masked = count % 32; // COUNT AND 1FH
  let d = dest;
  let cf = cfIn;
  let of: number | undefined;
  let t: number;
  switch (kind) {
    case 0: // ROL
      t = masked % size;
      while (t !== 0) {
        const tmp = msb(d);
        d = ((d * 2) % SIZE) + tmp;
        t--;
      }
      if (masked !== 0) cf = lsb(d);
      if (masked === 1) of = msb(d) ^ cf;
      break;
    case 1: // ROR
      t = masked % size;
      while (t !== 0) {
        const tmp = lsb(d);
        d = Math.floor(d / 2) + tmp * (SIZE / 2);
        t--;
      }
      if (masked !== 0) cf = msb(d);
      if (masked === 1) of = msb(d) ^ msb1(d);
      break;
    case 2: // RCL
      t = size === 8 ? masked % 9 : size === 16 ? masked % 17 : masked;
      while (t !== 0) {
        const tmp = msb(d);
        d = ((d * 2) % SIZE) + cf;
        cf = tmp;
        t--;
      }
      if (masked === 1) of = msb(d) ^ cf;
      break;
    case 3: // RCR
      t = size === 8 ? masked % 9 : size === 16 ? masked % 17 : masked;
      if (masked === 1) of = msb(d) ^ cf;
      while (t !== 0) {
        const tmp = lsb(d);
        d = Math.floor(d / 2) + cf * (SIZE / 2);
        cf = tmp;
        t--;
      }
      break;
    case 4: // SHL
    case 6: // SAL
      for (t = masked; t !== 0; t--) {
        cf = msb(d);
        d = (d * 2) % SIZE;
      }
      if (masked === 1) of = msb(d) ^ cf;
      break;
    case 5: // SHR
      if (masked === 1) of = msb(dest);
      for (t = masked; t !== 0; t--) {
        cf = lsb(d);
        d = Math.floor(d / 2);
      }
      break;
    default: // SAR: signed divide by 2 rounding toward negative infinity keeps the sign bit
      for (t = masked; t !== 0; t--) {
        cf = lsb(d);
        d = Math.floor(d / 2) + msb(d) * (SIZE / 2);
      }
      if (masked === 1) of = 0;
      break;
  }
  return { res: d, cf, of, cfUndefined: (kind === 4 || kind === 5 || kind === 6) && masked >= size };
}

const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const VALUES: Record<number, number[]> = {
  8: [0x81, 0x3c, 0x00, 0xc5],
  16: [0x8001, 0x3c5a, 0x0000, 0xa5c3],
  32: [0x80000001, 0x3c5a96e1, 0x00000000, 0xa5c3f00f],
};
const ROTATE_KEEPS = SF | ZF | AF | PF;

/** Checks a group 2 result in EBX/BX/BL against the model. */
function checkGroup2(r: RunResult, kind: number, size: number, v: number, count: number, cfIn: number, flags: number, ebx: number): void {
  const what = `${NAMES[kind]} ${size}-bit ${v.toString(16)} by ${count} cf=${cfIn} flags=${flags.toString(16)}`;
  expect(r.exception, what).toBeNull();
  const ref = sdmGroup2(kind, size, v, count, cfIn);
  const mask = 2 ** size - 1;
  const expEbx = size === 32 ? ref.res : ((ebx >>> 0) - ((ebx >>> 0) & mask) + ref.res) >>> 0;
  expect(r.ebx >>> 0, what).toBe(expEbx);
  const init = flags | 2 | cfIn;
  // Flags outside the six status flags never change.
  expect(r.flags & ~STATUS_FLAGS, what).toBe(init & ~STATUS_FLAGS);
  if (count % 32 === 0) {
    expect(r.flags, what).toBe(init); // masked count 0: flags not affected
    return;
  }
  if (!ref.cfUndefined) expect(r.flags & CF, what).toBe(ref.cf);
  if (ref.of !== undefined) expect(r.flags & OF, what).toBe(ref.of ? OF : 0);
  if (kind <= 3) {
    expect(r.flags & ROTATE_KEEPS, what).toBe(init & ROTATE_KEEPS); // SF ZF AF PF unaffected
  } else {
    expect(r.flags & SF, what).toBe(ref.res >= 2 ** (size - 1) ? SF : 0);
    expect(r.flags & ZF, what).toBe(ref.res === 0 ? ZF : 0);
    expect(r.flags & PF, what).toBe(evenParity(ref.res % 256) ? PF : 0);
  }
}

describe('group 2 against the SDM pseudocode (register operand, every count source)', () => {
  for (const size of [8, 16, 32]) {
    for (let kind = 0; kind < 8; kind++) {
      it(`${NAMES[kind]} r/m${size}`, () => {
        const pfx = size === 16 ? [0x66] : [];
        const modrm = 0xc0 | (kind << 3) | 3; // EBX / BX / BL
        const counts = [0, 1, size - 1, size, size + 1, 31, 32];
        for (const v of VALUES[size]) {
          const ebx = size === 32 ? v : size === 16 ? (0x12340000 | v) >>> 0 : (0x12345600 | v) >>> 0;
          for (const cfIn of [0, 1]) {
            for (const flags of [0, SF | ZF | AF | PF | OF | DF]) {
              for (const count of counts) {
                const f = flags | cfIn;
                // imm8 (C0/C1)
                let r = exec([...pfx, size === 8 ? 0xc0 : 0xc1, modrm, count], { ebx }, f);
                checkGroup2(r, kind, size, v, count, cfIn, flags, ebx);
                // CL (D2/D3); the rest of ECX is ignored
                r = exec([...pfx, size === 8 ? 0xd2 : 0xd3, modrm], { ebx, ecx: 0x7fffff00 | count }, f);
                checkGroup2(r, kind, size, v, count, cfIn, flags, ebx);
                if (count === 1) {
                  // by 1 (D0/D1)
                  r = exec([...pfx, size === 8 ? 0xd0 : 0xd1, modrm], { ebx }, f);
                  checkGroup2(r, kind, size, v, 1, cfIn, flags, ebx);
                }
              }
              // imm8 0xFF: sign-extended by the decoder, masked to 31 here
              const r = exec([...pfx, size === 8 ? 0xc0 : 0xc1, modrm, 0xff], { ebx }, flags | cfIn);
              checkGroup2(r, kind, size, v, 31, cfIn, flags, ebx);
            }
          }
        }
      });
    }
  }
});

describe('group 2 on a memory operand', () => {
  const addr = DATA_BASE + 0x40;
  for (const size of [8, 16, 32]) {
    it(`all eight operations on m${size} by CL`, () => {
      const pfx = size === 16 ? [0x66] : [];
      for (let kind = 0; kind < 8; kind++) {
        for (const count of [0, 1, 3, size - 1]) {
          for (const v of VALUES[size]) {
            const guard = [0xee, 0xee, 0xee, 0xee];
            const r = exec([...pfx, size === 8 ? 0xd2 : 0xd3, (kind << 3) | 5, ...disp32(addr)], { ecx: count }, CF | ZF, [
              [addr, [...le(v, size / 8), ...guard]],
            ]);
            const ref = sdmGroup2(kind, size, v, count, 1);
            const what = `${NAMES[kind]} m${size} ${v.toString(16)} by ${count}`;
            expect(r.exception, what).toBeNull();
            expect(Array.from(r.memory(addr, size / 8 + 4)), what).toEqual([...le(ref.res, size / 8), ...guard]);
            if (count !== 0 && !ref.cfUndefined) expect(r.flags & CF, what).toBe(ref.cf);
            if (count === 0) expect(r.flags & STATUS_FLAGS, what).toBe(CF | ZF);
          }
        }
      }
    });
  }

  it('masked count 0 reads the operand but does not write it (MMIO sees no write)', () => {
    const m = cpuRunner();
    const writes: number[] = [];
    const dev: BusDevice = { name: 'rec', read: () => 0x1234, write: (_o, _s, v) => void writes.push(v), peek: () => 0 };
    m.machine.memory.mapMmio(0xfe000000, 0x1000, dev);
    m.bytes([0xc1, 0x25, ...disp32(0xfe000000), 0x20]).flags(CF | PF); // shl dword [0xfe000000], 32
    const r = m.step(1);
    expect(r.exception).toBeNull();
    expect(writes).toEqual([]);
    expect(r.flags & STATUS_FLAGS).toBe(CF | PF);
    m.bytes([0xc1, 0x25, ...disp32(0xfe000000), 0x04]); // shl dword [0xfe000000], 4
    m.step(1);
    expect(writes).toEqual([0x12340]);
  });
});

describe('group 2: cases worked by hand from the SDM', () => {
  const bl = (r: RunResult): number => r.ebx & 0xff;
  const bx = (r: RunResult): number => r.ebx & 0xffff;

  it('shl/sal bl,1 of 0x81: 0x02, CF=1, OF=MSB(result)^CF=1, PF=0', () => {
    for (const ext of [4, 6]) {
      const r = exec([0xd0, 0xc3 | (ext << 3)], { ebx: 0x81 }, 0);
      expect(bl(r)).toBe(0x02);
      expect(r.flags & STATUS_FLAGS).toBe(CF | OF);
    }
  });

  it('shr bl,1 of 0x81: 0x40, CF=1, OF=MSB(original)=1', () => {
    const r = exec([0xd0, 0xeb], { ebx: 0x81 }, 0);
    expect(bl(r)).toBe(0x40);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF);
  });

  it('sar bl,1 of 0x81: 0xC0, CF=1, OF=0, SF=1, PF=1', () => {
    const r = exec([0xd0, 0xfb], { ebx: 0x81 }, OF);
    expect(bl(r)).toBe(0xc0);
    expect(r.flags & STATUS_FLAGS).toBe(CF | SF | PF);
  });

  it('rol bl,1 of 0x81: 0x03, CF=1, OF=1; ZF and PF kept', () => {
    const r = exec([0xd0, 0xc3], { ebx: 0x81 }, ZF | PF);
    expect(bl(r)).toBe(0x03);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF | ZF | PF);
  });

  it('ror bl,1 of 0x81: 0xC0, CF=1, OF=bit7^bit6=0; SF/AF kept', () => {
    const r = exec([0xd0, 0xcb], { ebx: 0x81 }, OF | SF | AF);
    expect(bl(r)).toBe(0xc0);
    expect(r.flags & STATUS_FLAGS).toBe(CF | SF | AF);
  });

  it('rcl bl,1 of 0x81 takes CF in at bit 0', () => {
    let r = exec([0xd0, 0xd3], { ebx: 0x81 }, 0);
    expect(bl(r)).toBe(0x02);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF);
    r = exec([0xd0, 0xd3], { ebx: 0x81 }, CF);
    expect(bl(r)).toBe(0x03);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF);
  });

  it('rcr bl,1 of 0x81: OF = MSB(original) XOR CF(before)', () => {
    let r = exec([0xd0, 0xdb], { ebx: 0x81 }, CF);
    expect(bl(r)).toBe(0xc0);
    expect(r.flags & STATUS_FLAGS).toBe(CF);
    r = exec([0xd0, 0xdb], { ebx: 0x81 }, 0);
    expect(bl(r)).toBe(0x40);
    expect(r.flags & STATUS_FLAGS).toBe(CF | OF);
  });

  it('rcl bl,9 and rcr bx,17 rotate by 0 (MOD 9, MOD 17): operand and CF unchanged', () => {
    let r = exec([0xc0, 0xd3, 9], { ebx: 0x81 }, CF | ZF);
    expect(bl(r)).toBe(0x81);
    expect(r.flags & (CF | ZF)).toBe(CF | ZF);
    r = exec([0x66, 0xc1, 0xdb, 17], { ebx: 0x8001 }, 0);
    expect(bx(r)).toBe(0x8001);
    expect(r.flags & CF).toBe(0);
  });

  it('rol/ror by a multiple of the width leave the operand but still write CF', () => {
    let r = exec([0xc0, 0xc3, 8], { ebx: 0x81 }, 0); // rol bl,8: CF = LSB = 1
    expect(bl(r)).toBe(0x81);
    expect(r.flags & CF).toBe(CF);
    r = exec([0xc0, 0xc3, 16], { ebx: 0x80 }, CF); // rol bl,16: CF = LSB = 0
    expect(bl(r)).toBe(0x80);
    expect(r.flags & CF).toBe(0);
    r = exec([0xc0, 0xcb, 8], { ebx: 0x80 }, 0); // ror bl,8: CF = MSB = 1
    expect(bl(r)).toBe(0x80);
    expect(r.flags & CF).toBe(CF);
    r = exec([0x66, 0xc1, 0xcb, 16], { ebx: 0x0001 }, CF); // ror bx,16: CF = MSB = 0
    expect(bx(r)).toBe(0x0001);
    expect(r.flags & CF).toBe(0);
  });

  it('32-bit shifts by 31', () => {
    let r = exec([0xc1, 0xe3, 31], { ebx: 3 }, 0); // shl: CF = bit 1
    expect(r.ebx).toBe(0x80000000);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(CF | SF | PF);
    r = exec([0xc1, 0xeb, 31], { ebx: 0x80000000 }, CF); // shr: CF = bit 30
    expect(r.ebx).toBe(1);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(0);
    r = exec([0xc1, 0xfb, 31], { ebx: 0x80000000 }, CF); // sar
    expect(r.ebx).toBe(0xffffffff);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(SF | PF);
  });

  it('sar past the width fills with the sign and CF = sign (8 and 16 bits)', () => {
    let r = exec([0xc0, 0xfb, 9], { ebx: 0x80 }, 0);
    expect(bl(r)).toBe(0xff);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(CF | SF | PF);
    r = exec([0x66, 0xc1, 0xfb, 31], { ebx: 0x7fff }, CF);
    expect(bx(r)).toBe(0);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(ZF | PF);
  });

  it('shl/shr 8/16-bit by >= width: result 0; CF is the last bit out by the SDM loop (0 past the width)', () => {
    // The SDM calls CF undefined here; the loop in its pseudocode gives these values.
    let r = exec([0xc0, 0xe3, 8], { ebx: 0x01 }, 0); // shl bl,8: last out = original bit 0
    expect(bl(r)).toBe(0);
    expect(r.flags & (CF | ZF | PF | SF)).toBe(CF | ZF | PF);
    r = exec([0xc0, 0xe3, 9], { ebx: 0xff }, CF); // shl bl,9: last out is a shifted-in 0
    expect(bl(r)).toBe(0);
    expect(r.flags & (CF | ZF)).toBe(ZF);
    r = exec([0x66, 0xc1, 0xeb, 16], { ebx: 0x8000 }, 0); // shr bx,16: last out = bit 15
    expect(bx(r)).toBe(0);
    expect(r.flags & (CF | ZF)).toBe(CF | ZF);
    r = exec([0x66, 0xc1, 0xeb, 20], { ebx: 0xffff }, CF); // shr bx,20
    expect(bx(r)).toBe(0);
    expect(r.flags & (CF | ZF)).toBe(ZF);
  });

  it('rcl ebx,31 and rcr bx,16 rotate through CF (33- and 17-bit rotations)', () => {
    // 1:00000001 rotated left 31 in 33 bits = right by 2: bit 0 -> 31, CF -> 30, CF' = 0.
    let r = exec([0xc1, 0xd3, 31], { ebx: 1 }, CF);
    expect(r.ebx).toBe(0xc0000000);
    expect(r.flags & CF).toBe(0);
    // 1:0001 rotated right 16 in 17 bits = left by 1: bit 0 -> 1, CF -> 0, CF' = bit 15 = 0.
    r = exec([0x66, 0xc1, 0xdb, 16], { ebx: 1 }, CF);
    expect(bx(r)).toBe(3);
    expect(r.flags & CF).toBe(0);
  });

  it('rcr ebx,1 of 1 with CF=0: 0, CF=1, OF=0, ZF not affected', () => {
    const r = exec([0xd1, 0xdb], { ebx: 1 }, 0);
    expect(r.ebx).toBe(0);
    expect(r.flags & STATUS_FLAGS).toBe(CF);
  });

  it('8/16-bit forms leave the rest of the register alone', () => {
    let r = exec([0xd0, 0xe7], { ebx: 0x12348156 }, 0); // shl bh,1
    expect(r.ebx).toBe(0x12340256);
    r = exec([0x66, 0xd1, 0xeb], { ebx: 0x12348002 }, 0); // shr bx,1
    expect(r.ebx).toBe(0x12344001);
  });

  it('LOCK is #UD on every group 2 form, memory or register', () => {
    expect(exec([0xf0, 0xd1, 0x25, ...disp32(DATA_BASE)], {}, 0).exception).toBe(6);
    expect(exec([0xf0, 0xd1, 0xe3], {}, 0).exception).toBe(6);
  });
});

// ---------------------------------------------------------------- SHLD / SHRD

/** SDM Vol. 2 "SHLD"/"SHRD" Operation, bit by bit, for 1 <= count <= size. */
function sdmDouble(left: boolean, size: number, dest: number, src: number, count: number): { res: number; cf: number } {
  const bitsOf = (v: number): number[] => Array.from({ length: size }, (_, i) => Math.floor(v / 2 ** i) % 2);
  const d = bitsOf(dest);
  const s = bitsOf(src);
  let cf: number;
  if (left) {
    cf = d[size - count];
    for (let i = size - 1; i >= count; i--) d[i] = d[i - count];
    for (let i = count - 1; i >= 0; i--) d[i] = s[i - count + size];
  } else {
    cf = d[count - 1];
    for (let i = 0; i <= size - 1 - count; i++) d[i] = d[i + count];
    for (let i = size - count; i <= size - 1; i++) d[i] = s[i + count - size];
  }
  return { res: d.reduce((a, b, i) => a + b * 2 ** i, 0), cf };
}

describe('SHLD / SHRD against the SDM pseudocode', () => {
  const pairs: Record<number, [number, number][]> = {
    16: [[0x1234, 0xabcd], [0x8001, 0x7ffe], [0x0000, 0x0000], [0x4000, 0x8000]],
    32: [[0x12345678, 0x9abcdef0], [0x80000001, 0x7ffffffe], [0, 0], [0x40000000, 0x80000000]],
  };
  for (const size of [16, 32]) {
    for (const left of [true, false]) {
      const name = `${left ? 'shld' : 'shrd'} r/m${size}`;
      it(name, () => {
        const pfx = size === 16 ? [0x66] : [];
        const opIb = left ? 0xa4 : 0xac;
        const counts = size === 16 ? [0, 1, 4, 15, 16, 32, 33] : [0, 1, 4, 31, 32, 33];
        for (const [dv, sv] of pairs[size]) {
          for (const count of counts) {
            for (const flags of [0, STATUS_FLAGS | DF]) {
              const what = `${name} ${dv.toString(16)},${sv.toString(16)} by ${count}`;
              // Ev = EBX, Gv = EDX (so that CL can carry the count independently of the source).
              const regs = { ebx: size === 16 ? 0x55550000 | dv : dv, edx: size === 16 ? 0x66660000 | sv : sv, ecx: 0x7fffff00 | count };
              const byImm = exec([...pfx, 0x0f, opIb, 0xd3, count], regs, flags);
              const byCl = exec([...pfx, 0x0f, opIb + 1, 0xd3], regs, flags);
              for (const r of [byImm, byCl]) {
                expect(r.exception, what).toBeNull();
                const masked = count % 32;
                if (masked === 0) {
                  expect(r.ebx >>> 0, what).toBe(regs.ebx >>> 0);
                  expect(r.flags, what).toBe(flags | 2);
                  continue;
                }
                const ref = sdmDouble(left, size, dv, sv, masked);
                const res = size === 16 ? r.ebx & 0xffff : r.ebx >>> 0;
                expect(res, what).toBe(ref.res);
                if (size === 16) expect(r.ebx >>> 16, what).toBe(0x5555);
                expect(r.flags & CF, what).toBe(ref.cf);
                if (masked === 1) expect(r.flags & OF, what).toBe(ref.res >= 2 ** (size - 1) !== dv >= 2 ** (size - 1) ? OF : 0);
                expect(r.flags & SF, what).toBe(ref.res >= 2 ** (size - 1) ? SF : 0);
                expect(r.flags & ZF, what).toBe(ref.res === 0 ? ZF : 0);
                expect(r.flags & PF, what).toBe(evenParity(ref.res % 256) ? PF : 0);
                expect(r.flags & ~STATUS_FLAGS, what).toBe((flags | 2) & ~STATUS_FLAGS);
              }
            }
          }
        }
      });
    }
  }

  it('hand-worked: shld ebx,ecx,4 and shrd ebx,ecx,4', () => {
    let r = exec([0x0f, 0xa4, 0xcb, 4], { ebx: 0x12345678, ecx: 0x9abcdef0 }, 0);
    expect(r.ebx).toBe(0x23456789);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(CF); // CF = bit 28 of 0x12345678; 0x89 has 3 ones
    r = exec([0x0f, 0xac, 0xcb, 4], { ebx: 0x12345678, ecx: 0x9abcdef0 }, 0);
    expect(r.ebx).toBe(0x01234567);
    expect(r.flags & (CF | SF | ZF | PF)).toBe(CF); // CF = bit 3; 0x67 has 5 ones
  });

  it('hand-worked: shld bx,cx,1 sets OF on a sign change', () => {
    const r = exec([0x66, 0x0f, 0xa4, 0xcb, 1], { ebx: 0x4000, ecx: 0x8000 }, 0);
    expect(r.ebx & 0xffff).toBe(0x8001);
    expect(r.flags & STATUS_FLAGS).toBe(OF | SF);
  });

  it('shld/shrd on memory by CL', () => {
    const a = DATA_BASE + 0x80;
    let r = exec([0x0f, 0xa5, 0x0d, ...disp32(a)], { ecx: 0x00000008 }, 0, [[a, [0x78, 0x56, 0x34, 0x12]]]);
    // shld [a], ecx, cl=8: 0x12345678 << 8 | top byte of ECX (0x00)
    expect(r.read32(a)).toBe(0x34567800);
    expect(r.flags & CF).toBe(0); // bit 24 of 0x12345678 = 0
    r = exec([0x0f, 0xad, 0x0d, ...disp32(a)], { ecx: 0xff000008 }, 0, [[a, [0x78, 0x56, 0x34, 0x12]]]);
    // shrd [a], ecx, cl=8: low byte of ECX (0x08) into the top
    expect(r.read32(a)).toBe(0x08123456);
    expect(r.flags & CF).toBe(0); // bit 7 of 0x78
  });

  it('16-bit count > 16 (undefined by the SDM): the P6 dest:src:dest 48-bit shift, deterministic', () => {
    // dest:src:dest = 0x1234_5678_1234; left by 20 keeps bits 27..12 = 0x6781, CF = bit 28 = 1.
    let r = exec([0x66, 0x0f, 0xa4, 0xcb, 20], { ebx: 0x1234, ecx: 0x5678 }, 0);
    expect(r.ebx & 0xffff).toBe(0x6781);
    expect(r.flags & CF).toBe(CF);
    // Right by 20 keeps bits 35..20 = 0x4567, CF = bit 19 = 1.
    r = exec([0x66, 0x0f, 0xac, 0xcb, 20], { ebx: 0x1234, ecx: 0x5678 }, 0);
    expect(r.ebx & 0xffff).toBe(0x4567);
    expect(r.flags & CF).toBe(CF);
  });
});
