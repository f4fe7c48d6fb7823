// Byte-for-byte comparison against nasm 2.16 (`-f bin`) for every fixture in test/fixtures/asm and
// every guest kernel in guests/, and operands nasm rejects. Skips loudly when nasm is not installed.

import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRejectionWithNasm, compareWithNasm, findNasm } from './nasm-compare.js';

const root = resolve(import.meta.dirname, '../..');
const nasm = findNasm();

function asmFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...asmFiles(p));
    else if (name.endsWith('.asm')) out.push(p);
  }
  return out;
}

const fixtures = asmFiles(join(root, 'test/fixtures/asm'));
const guests = asmFiles(join(root, 'guests'));

if (!nasm) {
  console.warn('nasm not installed: skipping the byte-for-byte comparisons against nasm (install nasm 2.16 to run them)');
}

describe.each([
  ['fixture', fixtures],
  ['guest', guests],
] as const)('%s sources assemble exactly like nasm -f bin', (kind, files) => {
  if (!nasm) {
    it.skip(`${kind}: nasm not installed`, () => {});
    return;
  }
  if (files.length === 0) {
    it.skip(`${kind}: no .asm files yet`, () => {});
    return;
  }
  it.each(files.map((f) => [f.slice(root.length + 1), f]))('%s', (_name, file) => {
    const r = compareWithNasm(nasm, file);
    if (!r.ok) console.error(r.report);
    expect(r.report).toBe('');
  });
});

// NASM's VMX templates are `mem` (no size keyword at all, not even qword), `mem128` and rm32/reg32.
const rejected = [
  'vmxon qword [eax]', 'vmxon dword [eax]', 'vmxon oword [eax]', 'vmxon far [eax]', 'vmxon eax',
  'vmclear qword [eax]', 'vmclear eax', 'vmptrld qword [eax]', 'vmptrld byte [eax]', 'vmptrst qword [eax]', 'vmptrst ecx',
  'vmread qword [eax], ebx', 'vmread word [eax], ebx', 'vmread ax, bx', 'vmread eax, [ebx]', 'vmread eax, 1',
  'vmwrite ebx, qword [eax]', 'vmwrite ebx, word [eax]', 'vmwrite [eax], ebx', 'vmwrite bx, ax',
  'invept eax, qword [ebx]', 'invept eax, dword [ebx]', 'invept eax, tword [ebx]', 'invept eax, far [ebx]',
  'invept eax, ebx', 'invept ax, [ebx]', 'invept [ebx], eax', 'invvpid eax, qword [ebx]', 'invvpid eax, ebx',
  'vmlaunch eax', 'vmcall 1',
];

describe('operands nasm rejects are rejected with its message', () => {
  if (!nasm) {
    it.skip('nasm not installed', () => {});
    return;
  }
  it.each(rejected)('%s', (line) => {
    const r = compareRejectionWithNasm(nasm, `bits 32\n${line}\n`);
    expect(r.report).toBe('');
  });
});

it('has the fixtures it is meant to compare', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(9);
});
