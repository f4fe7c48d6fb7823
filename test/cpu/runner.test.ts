// Unit tests of single instructions and short sequences through the runner DSL (test/helpers/cpu-runner.ts).
// Expected values are worked by hand from the SDM Vol. 2 pseudocode; the runner itself is checked on the way.

import { describe, expect, it } from 'vitest';
import { AF, CF, CODE_BASE, DATA_BASE, OF, PF, SF, STACK_TOP, STATUS_FLAGS, ZF, cpuRunner } from '../helpers/cpu-runner.js';

const status = (f: number): number => f & STATUS_FLAGS;

describe('the runner', () => {
  it('runs the bytes to their end and reports registers and flags', () => {
    const r = cpuRunner().bytes([0x01, 0xd8]).regs({ eax: 1, ebx: 2 }).flags(0x2).step(); // add eax, ebx
    expect(r.eax).toBe(3);
    expect(r.eip).toBe(CODE_BASE + 2);
    expect(r.steps).toBe(1);
    expect(r.exception).toBeNull();
    expect(status(r.flags)).toBe(PF); // 3 = 0b11: even number of ones
  });

  it('assembles NASM source, and step(n) runs exactly n instructions and can continue', () => {
    const run = cpuRunner().asm('mov eax, 1\nmov ebx, 2\nmov ecx, 3');
    const first = run.step(2);
    expect([first.eax, first.ebx, first.ecx]).toEqual([1, 2, 0]);
    expect(run.step().ecx).toBe(3);
  });
});

describe('MOV and LEA', () => {
  it('stores and loads through memory in every width', () => {
    const r = cpuRunner()
      .asm(`mov dword [${DATA_BASE}], 0x12345678\nmov bl, [${DATA_BASE + 1}]\nmov cx, [${DATA_BASE + 2}]\nmov [${DATA_BASE + 8}], bl`)
      .regs({ ebx: 0xaaaaaaaa, ecx: 0xbbbbbbbb })
      .step();
    expect(r.ebx).toBe(0xaaaaaa56); // an 8-bit load leaves bits 8-31
    expect(r.ecx).toBe(0xbbbb1234);
    expect(Array.from(r.memory(DATA_BASE, 4))).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(r.memory(DATA_BASE + 8, 1)[0]).toBe(0x56);
  });

  it('LEA computes base + index * scale + disp without touching memory or flags', () => {
    const r = cpuRunner().asm('lea eax, [ebx + esi*4 + 0x10]').regs({ ebx: 0x1000, esi: 3 }).flags(0x2 | CF | ZF).step();
    expect(r.eax).toBe(0x1000 + 12 + 0x10);
    expect(status(r.flags)).toBe(CF | ZF);
  });

  it('MOVZX and MOVSX extend from a byte', () => {
    const r = cpuRunner().asm('movzx eax, bl\nmovsx ecx, bl').regs({ ebx: 0x80 }).step();
    expect(r.eax).toBe(0x80);
    expect(r.ecx).toBe(0xffffff80);
  });
});

describe('ALU flags (SDM Vol. 1 3.4.3.1)', () => {
  it('ADD 0x7fffffff + 1 overflows into the sign bit', () => {
    const r = cpuRunner().asm('add eax, 1').regs({ eax: 0x7fffffff }).step();
    expect(r.eax).toBe(0x80000000);
    // Low byte 0x00: PF. Carry out of bit 3: AF. Signed overflow: OF. No unsigned carry.
    expect(status(r.flags)).toBe(OF | SF | AF | PF);
  });

  it('SUB 0 - 1 borrows', () => {
    const r = cpuRunner().asm('sub eax, 1').regs({ eax: 0 }).step();
    expect(r.eax).toBe(0xffffffff);
    expect(status(r.flags)).toBe(CF | SF | AF | PF);
  });

  it('ADC adds the incoming carry; CMP sets ZF without writing', () => {
    const r = cpuRunner().asm('adc eax, ebx\ncmp eax, 6').regs({ eax: 2, ebx: 3 }).flags(0x2 | CF).step();
    expect(r.eax).toBe(6);
    expect(status(r.flags)).toBe(ZF | PF);
  });

  it('AND clears CF and OF; INC keeps CF', () => {
    const r = cpuRunner().asm('and eax, 0x0f\ninc eax').regs({ eax: 0xffffffff }).flags(0x2 | CF | OF).step();
    expect(r.eax).toBe(0x10);
    // INC 0x0f -> 0x10: AF (carry out of bit 3); CF was cleared by AND and INC leaves it; 0x10 has odd parity.
    expect(status(r.flags)).toBe(AF);
  });
});

describe('stack and calls', () => {
  it('PUSH then POP moves a value through the stack', () => {
    const r = cpuRunner().asm('push 0x11223344\npop ebx').step();
    expect(r.ebx).toBe(0x11223344);
    expect(r.esp).toBe(STACK_TOP);
    expect(r.read32(STACK_TOP - 4)).toBe(0x11223344);
  });

  it('CALL pushes the return address and RET comes back to it', () => {
    const r = cpuRunner().asm('call sub\njmp done\nsub: mov eax, 42\nret\ndone:').step();
    expect(r.eax).toBe(42);
    expect(r.esp).toBe(STACK_TOP);
    expect(r.read32(STACK_TOP - 4)).toBe(CODE_BASE + 5); // after the 5-byte CALL rel32
  });
});

describe('Jcc and XCHG', () => {
  it('a JNZ loop sums 5 + 4 + 3 + 2 + 1', () => {
    const r = cpuRunner().asm('mov ecx, 5\nxor eax, eax\nagain: add eax, ecx\ndec ecx\njnz again').step();
    expect(r.eax).toBe(15);
    expect(r.ecx).toBe(0);
    expect(r.flags & ZF).toBe(ZF);
  });

  it('JL follows SF != OF, JB follows CF', () => {
    const r = cpuRunner()
      .asm('xor edx, edx\ncmp eax, 1\njl less\nor edx, 1\nless: cmp eax, 1\njb below\nor edx, 2\nbelow:')
      .regs({ eax: 0xffffffff }) // -1 < 1 signed, 0xffffffff > 1 unsigned
      .step();
    expect(r.edx).toBe(2);
  });

  it('XCHG swaps registers and a register with memory', () => {
    const r = cpuRunner()
      .asm(`xchg eax, ebx\nxchg [${DATA_BASE}], ecx`)
      .regs({ eax: 1, ebx: 2, ecx: 3 })
      .mem32(DATA_BASE, 4)
      .step();
    expect([r.eax, r.ebx, r.ecx]).toEqual([2, 1, 4]);
    expect(r.read32(DATA_BASE)).toBe(3);
  });
});

describe('string instructions', () => {
  it('REP MOVSB copies ECX bytes forward and leaves ESI, EDI past them', () => {
    const src = DATA_BASE;
    const dst = DATA_BASE + 0x100;
    const r = cpuRunner().asm('cld\nrep movsb').mem(src, [1, 2, 3, 4, 5]).regs({ esi: src, edi: dst, ecx: 5 }).step();
    expect(Array.from(r.memory(dst, 6))).toEqual([1, 2, 3, 4, 5, 0]);
    expect([r.ecx, r.esi, r.edi]).toEqual([0, src + 5, dst + 5]);
  });

  it('REP STOSD with DF=1 stores downwards', () => {
    const r = cpuRunner().asm('std\nrep stosd').regs({ eax: 0xdeadbeef, edi: DATA_BASE + 8, ecx: 3 }).step();
    expect([r.read32(DATA_BASE), r.read32(DATA_BASE + 4), r.read32(DATA_BASE + 8)]).toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
    expect(r.edi).toBe(DATA_BASE - 4);
  });

  it('REPNE SCASB stops after the matching byte', () => {
    const r = cpuRunner().asm('cld\nrepne scasb').mem(DATA_BASE, [9, 8, 7, 6]).regs({ eax: 7, edi: DATA_BASE, ecx: 10 }).step();
    expect(r.edi).toBe(DATA_BASE + 3);
    expect(r.ecx).toBe(7);
    expect(r.flags & ZF).toBe(ZF);
  });
});

describe('exceptions through the recording IDT', () => {
  it('DIV by zero raises #DE with the DIV itself as the saved EIP, registers unchanged', () => {
    const r = cpuRunner().asm('mov eax, 100\nxor ebx, ebx\ndiv ebx\nmov eax, 1').step();
    expect(r.exception).toBe(0);
    expect(r.frameEip).toBe(CODE_BASE + 5 + 2); // after mov eax, imm32 (5) and xor (2)
    expect(r.errorCode).toBeNull();
    expect(r.eax).toBe(100);
    expect(r.read32(r.esp + 4)).toBe(0x08); // CS
  });

  it('DIV whose quotient does not fit raises #DE too', () => {
    const r = cpuRunner().bytes([0xf6, 0xf3]).regs({ eax: 0x1000, ebx: 2 }).step(); // div bl: 0x1000 / 2 > 0xff
    expect(r.exception).toBe(0);
    expect(r.frameEip).toBe(CODE_BASE);
  });

  it('UD2 raises #UD at the instruction', () => {
    const r = cpuRunner().bytes([0x90, 0x0f, 0x0b]).step();
    expect(r.exception).toBe(6);
    expect(r.frameEip).toBe(CODE_BASE + 1);
  });

  it('MOV EAX, CR1 (a reserved control register) raises #UD', () => {
    const r = cpuRunner().bytes([0x0f, 0x20, 0xc8]).step();
    expect(r.exception).toBe(6);
    expect(r.frameEip).toBe(CODE_BASE);
  });

  it('INT3 is a trap: the saved EIP is the next instruction', () => {
    const r = cpuRunner().bytes([0xcc, 0x90]).step();
    expect(r.exception).toBe(3);
    expect(r.frameEip).toBe(CODE_BASE + 1);
  });

  it('a #GP pushes an error code: INT to a vector past the IDT limit', () => {
    const r = cpuRunner().bytes([0xcd, 0x40]).step(); // int 0x40; the IDT holds 32 gates
    expect(r.exception).toBe(13);
    expect(r.errorCode).toBe(0x40 * 8 + 2); // IDT flag set, EXT = 0 (SDM Vol. 3 6.13)
    expect(r.frameEip).toBe(CODE_BASE);
  });
});
