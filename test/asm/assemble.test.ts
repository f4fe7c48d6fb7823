// API-level tests of assemble()/assembleFile(): results, symbols, listing, error reporting (file, line,
// message, several per run), and robustness: hostile input never throws out of assemble().

import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, assembleFile } from '../../src/asm/index.js';

const asm = (src: string, files: Record<string, string> = {}) =>
  assemble(src, { fileName: 'guests/x.asm', readFile: (p) => files[p] });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const messages = (src: string) => asm(src).errors.map((e) => `${e.file}:${e.line}: ${e.message}`);

describe('assemble()', () => {
  it('produces bytes and symbols, with local labels qualified', () => {
    const r = asm('bits 32\norg 0x1000\nstart: jmp .l\n.l: ret\nend:');
    expect(r.ok).toBe(true);
    expect(hex(r.bytes)).toBe('eb00c3');
    expect(r.symbols.get('start')).toBe(0x1000);
    expect(r.symbols.get('start.l')).toBe(0x1002);
    expect(r.symbols.get('end')).toBe(0x1003);
  });

  it('gives a listing on request', () => {
    const r = assemble('nop\nmov eax, 1', { fileName: 'a.asm', listing: true });
    expect(r.listing?.map((l) => [l.line, l.address, hex(l.bytes)])).toEqual([
      [1, 0, '90'],
      [2, 1, 'b801000000'],
    ]);
  });

  it('converges on chains of forward jumps', () => {
    const body = Array.from({ length: 40 }, () => 'jmp end').join('\n');
    const r = asm(`${body}\ntimes 50 nop\nend:`);
    expect(r.ok).toBe(true);
    expect(r.bytes.length).toBeGreaterThan(40 * 2 + 50);
  });

  it('resolves %include through the injected reader, relative to the including file', () => {
    const r = asm('%include "lib/a.inc"\ndb X', { 'guests/lib/a.inc': '%define X 7' });
    expect(hex(r.bytes)).toBe('07');
  });

  it('encodes VMX instructions as the SDM gives them, mandatory 66/F3 first and no operand-size 66', () => {
    const cases: Array<[string, string]> = [
      ['vmxon [eax]', 'f3 0f c7 30'], // F3 0F C7 /6, mod 00 rm eax
      ['vmclear [ebx+8]', '66 0f c7 73 08'], // 66 0F C7 /6, mod 01 rm ebx, disp8
      ['vmptrld [esp]', '0f c7 34 24'], // 0F C7 /6, rm 100 + SIB (base esp, no index)
      ['vmptrst [0x1000]', '0f c7 3d 00 10 00 00'], // 0F C7 /7, mod 00 rm 101: disp32
      ['vmread eax, ecx', '0f 78 c8'], // 0F 78 /r: rm = eax (destination), reg = ecx (field)
      ['vmwrite ecx, [esi+edi*4+0x100]', '0f 79 8c be 00 01 00 00'], // reg = ecx, SIB ss 10 index edi base esi
      ['vmlaunch', '0f 01 c2'],
      ['vmresume', '0f 01 c3'],
      ['vmxoff', '0f 01 c4'],
      ['vmcall', '0f 01 c1'],
      ['invept edx, [eax]', '66 0f 38 80 10'],
      ['invvpid ebx, oword [ebp-4]', '66 0f 38 81 5d fc'],
      ['o16 vmclear [eax]', '66 66 0f c7 30'], // o16 is its own prefix, before the mandatory 66
    ];
    for (const [src, bytes] of cases) expect([src, hex(asm(`bits 32\n${src}`).bytes)]).toEqual([src, bytes.replace(/ /g, '')]);
  });

  it('assembleFile reads from disk and resolves includes next to the file', () => {
    const root = resolve(import.meta.dirname, '../..');
    const r = assembleFile(join(root, 'test/fixtures/asm/preprocessor.asm'));
    expect(r.errors).toEqual([]);
    expect(r.bytes.length).toBeGreaterThan(0);
    expect(assembleFile(join(root, 'no/such.asm')).errors[0].message).toMatch(/cannot read file/);
  });
});

describe('error messages', () => {
  it.each([
    ['movq eax, ebx', "guests/x.asm:1: unknown instruction 'movq'"],
    ['mov eax, foo', "guests/x.asm:1: undefined symbol 'foo'"],
    ['a:\na:', "guests/x.asm:2: label 'a' redefined"],
    ['mov eax, bl', 'guests/x.asm:1: invalid combination of opcode and operands'],
    ['mov [eax], 5', 'guests/x.asm:1: operation size not specified'],
    ['movzx eax, [ebx]', 'guests/x.asm:1: operation size not specified'],
    ['%include "lib/x.inc"', 'guests/x.asm:1: %include file not found: lib/x.inc'],
    ['jmp short far_away\ntimes 200 nop\nfar_away:', 'guests/x.asm:1: short jump is out of range'],
    ['loop far_away\ntimes 200 nop\nfar_away:', 'guests/x.asm:1: short jump is out of range'],
    ['extern foo', "guests/x.asm:1: 'extern' is not supported by the flat binary format"],
    ['bits 16', 'guests/x.asm:1: bits 16 is not supported (only bits 32)'],
    ['mov eax, [eax*3+ebx]', 'guests/x.asm:1: invalid effective address: scale 3'],
    ['mov eax, [eax+ebx+ecx]', 'guests/x.asm:1: invalid effective address: too many registers'],
    ['mov eax, [ax]', "guests/x.asm:1: invalid effective address: register 'ax' cannot be used here"],
    ['mov eax, [esp*2]', 'guests/x.asm:1: invalid effective address: ESP cannot be an index register'],
    ['dd a*2\na:', 'guests/x.asm:1: expression is not simple or relocatable'],
    ['times -1 nop', 'guests/x.asm:1: TIMES value -1 is negative'],
    ['db 1 +', 'guests/x.asm:1: expression expected'],
    ["db 'abc", 'guests/x.asm:1: unterminated string'],
    ['%error custom failure', 'guests/x.asm:1: custom failure'],
    ['%bogus', "guests/x.asm:1: unknown preprocessor directive '%bogus'"],
    ['mov eax, 1 / 0', 'guests/x.asm:1: division by zero'],
    ['align 3', 'guests/x.asm:1: alignment 3 is not a power of two'],
    ['vmxon qword [eax]', 'guests/x.asm:1: mismatch in operand sizes'],
    ['invept eax, dword [ebx]', 'guests/x.asm:1: mismatch in operand sizes'],
    ['invept eax, ebx', 'guests/x.asm:1: invalid combination of opcode and operands'],
  ])('%s', (src, message) => {
    expect(messages(src)).toContain(message);
  });

  it('reports several errors in one run and fails without output', () => {
    const r = asm('nop\nfoo1 eax\nmov eax, bl\nnop\nmov eax, missing');
    expect(r.ok).toBe(false);
    expect(r.bytes.length).toBe(0);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 5]);
  });

  it('names the included file and its line', () => {
    const r = asm('nop\n%include "lib/a.inc"', { 'guests/lib/a.inc': 'nop\nbadinsn eax' });
    expect(r.errors).toEqual([{ file: 'guests/lib/a.inc', line: 2, message: "unknown instruction 'badinsn'" }]);
  });

  it('gives up on labels that never converge', () => {
    // b - a alternates between 0 and 130 from pass to pass (nasm rejects this too, as a non-constant TIMES).
    const r = asm('a: times 130 - (b - a) nop\nb:');
    expect(r.ok).toBe(false);
    expect(r.errors.map((e) => e.message)).toContain('labels do not converge after 20 passes');
  });
});

describe('hostile input never throws', () => {
  const nasty = [
    '%rep 100000000\nnop\n%endrep',
    'times 0x7fffffff db 0',
    'resb 0xffffffffff',
    '%define A A A A\nA',
    '%define A B\n%define B A\ndd A',
    '%macro m 0\nm\nm\n%endmacro\nm',
    '[[[[',
    'mov eax, [[eax]]',
    'db `\\u',
    'mov eax, ((((((((1',
    '\u0000\u0001 garbage \uffff',
    'a equ a + 1\ndd a',
    'x: equ 5',
    'jmp 1:2:3',
    'org $\nx:',
    'section\nsection .bss\ndb 1',
    'dd 1e1000',
    `dd ${'('.repeat(5000)}1${')'.repeat(5000)}`,
  ];
  it.each(nasty)('%#', (src) => {
    const r = asm(src);
    expect(typeof r.ok).toBe('boolean');
    expect(r.errors.every((e) => !/internal assembler error/.test(e.message) || e.message.length > 0)).toBe(true);
  });
});
