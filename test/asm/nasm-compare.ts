// Test helper: assembles a file with both our assembler and the installed nasm (`-f bin`) and
// describes the first differences with the source lines that produced them, or checks that both reject
// a snippet with the same error. Used by *.test.ts only.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { assemble, assembleFile } from '../../src/asm/index.js';

export function findNasm(): string | null {
  for (const candidate of [process.env.NASM, 'nasm', '/usr/bin/nasm']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-v'], { stdio: 'pipe' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}

export interface Comparison {
  ok: boolean;
  /** Human-readable report: nasm/our errors, or a hex diff with source lines. */
  report: string;
}

const hex = (b: Uint8Array | number[]): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

export function runNasm(nasm: string, path: string, includePaths: string[] = []): { bytes: Uint8Array | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'exitless-nasm-'));
  const out = join(dir, 'out.bin');
  try {
    const args = ['-f', 'bin', '-o', out, `-I${dirname(path)}/`, ...includePaths.map((p) => `-I${p}/`), path];
    execFileSync(nasm, args, { stdio: 'pipe' });
    return { bytes: new Uint8Array(readFileSync(out)), stderr: '' };
  } catch (e) {
    const err = e as { stderr?: Buffer };
    return { bytes: null, stderr: err.stderr?.toString() ?? String(e) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function compareWithNasm(nasm: string, path: string, includePaths: string[] = []): Comparison {
  const theirs = runNasm(nasm, path, includePaths);
  // nasm gets -I<dir of file>; give ours the same search path.
  const ours = assembleFile(path, { includePaths: [dirname(path), ...includePaths], listing: true });
  if (!theirs.bytes) {
    return { ok: false, report: `nasm failed on ${path}:\n${theirs.stderr}` };
  }
  if (!ours.ok) {
    return { ok: false, report: `our assembler failed on ${path}:\n${ours.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n')}` };
  }
  const a = ours.bytes;
  const b = theirs.bytes;
  if (a.length === b.length && a.every((x, i) => x === b[i])) return { ok: true, report: '' };
  const lines: string[] = [`${path}: output differs (ours ${a.length} bytes, nasm ${b.length} bytes)`];
  // Walk our listing; report each statement whose bytes differ from nasm's at the same offset.
  const base = ours.listing && ours.listing.length > 0 ? Math.min(...ours.listing.map((l) => l.address)) : 0;
  let shown = 0;
  for (const l of ours.listing ?? []) {
    const off = l.address - base;
    const want = b.slice(off, off + l.bytes.length);
    if (l.bytes.length > 0 && hex(want) !== hex(l.bytes)) {
      lines.push(`  ${l.file}:${l.line} @${off.toString(16)}: ${l.source.trim()}\n    ours: ${hex(l.bytes)}\n    nasm: ${hex(want)}`);
      if (++shown >= 8) break;
    }
  }
  if (shown === 0) {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    lines.push(`  first difference at offset 0x${i.toString(16)}: ours ${hex(a.slice(i, i + 16))} / nasm ${hex(b.slice(i, i + 16))}`);
  }
  return { ok: false, report: lines.join('\n') };
}

/** Both assemblers must reject `source` (a `bits 32` snippet), with the same first error message. */
export function compareRejectionWithNasm(nasm: string, source: string): Comparison {
  const dir = mkdtempSync(join(tmpdir(), 'exitless-nasm-'));
  try {
    const path = join(dir, 'in.asm');
    writeFileSync(path, source);
    const theirs = runNasm(nasm, path);
    const ours = assemble(source, { fileName: path });
    const want = /error: (.*)/.exec(theirs.stderr)?.[1]?.trim();
    const got = ours.errors[0]?.message;
    if (theirs.bytes) return { ok: false, report: `nasm accepts ${JSON.stringify(source)}: ${hex(theirs.bytes)}` };
    if (ours.ok) return { ok: false, report: `we accept ${JSON.stringify(source)} (nasm: ${want}): ${hex(ours.bytes)}` };
    if (got !== want) return { ok: false, report: `${JSON.stringify(source)}: ours '${got}', nasm '${want}'` };
    return { ok: true, report: '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
