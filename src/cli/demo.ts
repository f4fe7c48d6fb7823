// `exitless demo` (what `npm start` runs): boots guests/hello.asm, then every guest in guests/manifest.json,
// and prints one friendly summary line each. Guest sources and the manifest belong to guests/.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunMode, runImage } from '../machine/run.js';
import type { CliIo } from './io.js';
import { readGuest } from './run-command.js';

/** Cycle budget per demo guest: 10 s of simulated time, so a broken guest cannot hang the demo. */
const DEMO_MAX_CYCLES = 10_000_000_000;

interface ManifestGuest {
  file: string;
  description?: string;
  expectedStatus: number;
  /** Run it in a VM under the TypeScript hypervisor (--mode trap). */
  mode?: RunMode;
}

/** The repository root: the nearest directory above this file holding package.json and guests/. */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'guests'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Reads guests/manifest.json in either shape: an array, or `{ guests: [...] }` with exitStatus/expectedStatus. */
export function readManifest(path: string): { guests: ManifestGuest[]; memoryBytes?: number } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return { error: existsSync(path) ? `cannot parse ${path}: ${(e as Error).message}` : `${path} does not exist yet` };
  }
  const root = json as { guests?: unknown; qemu?: { memoryBytes?: unknown } };
  const list = Array.isArray(json) ? json : Array.isArray(root.guests) ? root.guests : null;
  if (list === null) return { error: `${path}: expected an array of guests` };
  const guests: ManifestGuest[] = [];
  for (const g of list as Record<string, unknown>[]) {
    if (typeof g?.file !== 'string') continue;
    const status = typeof g.expectedStatus === 'number' ? g.expectedStatus : typeof g.exitStatus === 'number' ? g.exitStatus : 1;
    guests.push({ file: g.file, description: typeof g.description === 'string' ? g.description : undefined, expectedStatus: status });
  }
  const memoryBytes = typeof root.qemu?.memoryBytes === 'number' ? root.qemu.memoryBytes : undefined;
  return { guests, memoryBytes };
}

/** PASS/FAIL/SKIP line counts and the SUMMARY line of kvm-unit-tests style output. */
export function summarize(serial: string): { pass: number; fail: number; skip: number; summary: string | null } {
  let pass = 0;
  let fail = 0;
  let skip = 0;
  let summary: string | null = null;
  for (const line of serial.split('\n')) {
    const l = line.replace(/\r$/, '');
    if (l.startsWith('PASS:')) pass++;
    else if (l.startsWith('FAIL:')) fail++;
    else if (l.startsWith('SKIP:')) skip++;
    else if (l.startsWith('SUMMARY:')) summary = l;
  }
  return { pass, fail, skip, summary };
}

function simulatedTime(cycles: number): string {
  const seconds = cycles / 1e9;
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(1)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(2)} ms`;
  return `${seconds.toFixed(3)} s`;
}

export function demoCommand(io: CliIo, root = repoRoot()): number {
  const guestsDir = join(root, 'guests');
  io.stdout('exitless demo: booting multiboot guests on the emulated PC (COM1 output shown for hello).\n\n');
  const manifest = readManifest(join(guestsDir, 'manifest.json'));
  const memoryBytes = 'error' in manifest ? undefined : manifest.memoryBytes;
  const list: ManifestGuest[] = [{ file: 'hello.asm', expectedStatus: 1, description: 'hello world' }];
  if ('error' in manifest) io.stdout(`(no guest manifest: ${manifest.error})\n`);
  else for (const g of manifest.guests) if (g.file !== 'hello.asm') list.push(g);
  // The VMX side: hello again, in a VM under the hypervisor written in TypeScript, and the machine-code
  // hypervisors of guests/vmx (exitless-only: QEMU's TCG has no VMX).
  list.push({ file: 'hello.asm', expectedStatus: 1, mode: 'trap' });
  const vmxDir = join(guestsDir, 'vmx');
  if (existsSync(vmxDir)) for (const f of readdirSync(vmxDir).filter((n) => n.endsWith('.asm')).sort()) list.push({ file: `vmx/${f}`, expectedStatus: 1 });

  let failed = 0;
  for (const g of list) {
    const image = readGuest(join(guestsDir, g.file), io);
    if (image === null) {
      io.stdout(`  ${g.file.padEnd(22)} could not be built (see above)\n`);
      failed++;
      continue;
    }
    const result = runImage(image, { memoryBytes, maxCycles: DEMO_MAX_CYCLES, noReboot: true, mode: g.mode });
    if (g.file === 'hello.asm' && g.mode === undefined) io.stdout(result.serial.replace(/^/gm, '  | ').replace(/ {2}\| $/, '') + '\n');
    const s = summarize(result.serial);
    const ok = result.stop === 'debug-exit' && result.exitStatus === g.expectedStatus && s.fail === 0;
    if (!ok) failed++;
    const how = result.stop === 'debug-exit' ? `exit status ${result.exitStatus}` : result.stop === 'load-error' ? `load error: ${result.error}` : `stopped: ${result.stop}`;
    const tests = s.pass + s.fail + s.skip > 0 ? `${s.pass} PASS / ${s.fail} FAIL${s.skip ? ` / ${s.skip} SKIP` : ''}, ` : '';
    const name = g.mode === 'trap' ? `${g.file} --mode trap` : g.file;
    const exits = result.vm !== undefined ? `, ${Object.values(result.vm.exits).reduce((a, b) => a + b, 0).toLocaleString('en-US')} VM exits` : '';
    io.stdout(
      `  ${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(28)} ${tests}${how}, ${result.instructions.toLocaleString('en-US')} instructions${exits}, ${simulatedTime(result.cycles)} simulated\n`,
    );
  }
  io.stdout(`\n${list.length - failed} of ${list.length} guests behaved as expected. Try: exitless run guests/hello.asm\n`);
  return failed === 0 ? 0 : 1;
}
