// `exitless run`: turns QEMU-style options into RunOptions, assembles .asm guests, runs, and maps the result
// to QEMU's process exit status. The machine itself is machine/run.ts's.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { assembleFile } from '../asm/index.js';
import type { LogItem } from '../core/tracer.js';
import { runImage, type RunOptions, type RunResult } from '../machine/run.js';
import type { NetOptions } from '../machine/network.js';
import { ByteStream, type CliIo, SyncFile } from './io.js';
import { logItemsHelp, lineLogger, parseCharDev, parseCycles, parseLogItems, parseMemorySize } from './options.js';

export interface RunArgs {
  image?: string;
  kernel?: string;
  m?: string;
  serial?: string;
  append?: string;
  initrd?: string;
  d?: string;
  D?: string;
  maxCycles?: string;
  noReboot?: boolean;
  debugcon?: string;
  /** Link peer: workload, frames/transactions, frame size, window, guest ITR, seed. */
  workload?: string;
  packets?: string;
  frameSize?: string;
  window?: string;
  itr?: string;
  seed?: string;
  /** bare | trap (machine/run.ts RunMode). */
  mode?: string;
}

/** Exit code for usage errors, unreadable files and refused images. */
export const EXIT_USAGE = 2;
/** Exit code when --max-cycles ran out (the `timeout` command's, which kvm-unit-tests also reports). */
export const EXIT_TIMEOUT = 124;

/** Reads a guest: an image file as is, a .asm file through the assembler. Errors are printed; null on failure. */
export function readGuest(path: string, io: CliIo): Uint8Array | null {
  if (path.endsWith('.asm')) {
    const result = assembleFile(path);
    if (!result.ok) {
      for (const e of result.errors) io.stderr(`${e.file}:${e.line}: ${e.message}\n`);
      return null;
    }
    return result.bytes;
  }
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    io.stderr(`exitless: ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot read file'}\n`);
    return null;
  }
}

/** The process exit status QEMU would give for this run (devices.md 6.3), with ours for a cycle timeout. */
export function exitCodeOf(result: RunResult): number {
  switch (result.stop) {
    case 'debug-exit':
      return result.exitStatus ?? 0;
    case 'load-error':
      return EXIT_USAGE;
    case 'max-cycles':
      return EXIT_TIMEOUT;
    case 'entry-failure':
    case 'unhandled-exit':
      return 1; // the VM could not go on (the message names why)
    default:
      return 0; // halt, or shutdown (triple fault) with -no-reboot: QEMU exits 0
  }
}

export function runCommand(args: RunArgs, io: CliIo): number {
  const closers: (() => void)[] = [];
  try {
    return runWith(args, io, closers);
  } finally {
    for (const close of closers) close();
  }
}

function runWith(args: RunArgs, io: CliIo, closers: (() => void)[]): number {
  const fail = (message: string): number => {
    io.stderr(`exitless: ${message}\n`);
    return EXIT_USAGE;
  };
  if (args.d === 'help') {
    io.stdout(logItemsHelp());
    return 0;
  }
  const path = args.kernel ?? args.image;
  if (path === undefined) return fail('run: give an image (exitless run IMAGE or -kernel IMAGE)');
  if (args.kernel !== undefined && args.image !== undefined && args.image !== args.kernel) {
    return fail(`run: two images given (${args.image} and -kernel ${args.kernel})`);
  }
  const options: RunOptions = { noReboot: args.noReboot === true };
  if (args.mode !== undefined) {
    if (args.mode !== 'bare' && args.mode !== 'trap') return fail(`--mode: '${args.mode}' is not bare or trap`);
    options.mode = args.mode;
  }
  if (args.m !== undefined) {
    const size = parseMemorySize(args.m);
    if (!size.ok) return fail(size.error);
    options.memoryBytes = size.value;
  }
  if (args.maxCycles !== undefined) {
    const cycles = parseCycles(args.maxCycles);
    if (!cycles.ok) return fail(cycles.error);
    options.maxCycles = cycles.value;
  }
  const serial = parseCharDev('-serial', args.serial ?? 'stdio');
  if (!serial.ok) return fail(serial.error);
  const debugcon = parseCharDev('-debugcon', args.debugcon ?? 'none');
  if (!debugcon.ok) return fail(debugcon.error);
  let logItems: ReadonlySet<LogItem> = new Set<LogItem>();
  if (args.d !== undefined) {
    const parsed = parseLogItems(args.d);
    if (!parsed.ok) return fail(parsed.error);
    logItems = parsed.value;
  }

  // Modules (-initrd "file args,file2"): QEMU passes each entry's text as the module's command line.
  const modules: { name: string; data: Uint8Array }[] = [];
  if (args.initrd !== undefined) {
    for (const entry of args.initrd.split(',')) {
      const file = entry.trim().split(/\s+/)[0];
      if (file === '') continue;
      try {
        modules.push({ name: entry.trim(), data: new Uint8Array(readFileSync(file)) });
      } catch {
        return fail(`-initrd: cannot read ${file}`);
      }
    }
  }
  if (modules.length > 0) options.modules = modules;
  // QEMU's multiboot command line is "<kernel file> <-append text>"; --itr adds itr=N for the netperf guests.
  const appendText = [args.append, args.itr !== undefined ? `itr=${args.itr}` : undefined].filter((x) => x !== undefined).join(' ');
  if (appendText !== '') options.cmdline = `${basename(path)} ${appendText}`;
  const net = netOptions(args, path);
  if (typeof net === 'string') return fail(net);
  if (net !== null) options.net = net;

  const image = readGuest(path, io);
  if (image === null) return EXIT_USAGE;

  const openSink = (dev: typeof serial.value): ((b: number) => void) | undefined => {
    if (dev.kind === 'none') return undefined;
    let stream: ByteStream;
    if (dev.kind === 'stdio') {
      stream = new ByteStream((bytes) => io.stdout(bytes));
    } else {
      const file = new SyncFile(dev.path);
      stream = new ByteStream((bytes) => file.write(bytes));
      closers.push(() => file.close());
    }
    closers.unshift(() => stream.flush());
    return (b) => stream.push(b);
  };
  try {
    options.serial = openSink(serial.value);
    options.debugcon = openSink(debugcon.value);
  } catch {
    return fail('cannot open an output file for -serial or -debugcon');
  }
  if (logItems.size > 0) {
    let writeLine = (line: string): void => io.stderr(line);
    if (args.D !== undefined) {
      let file: SyncFile;
      try {
        file = new SyncFile(args.D);
      } catch {
        return fail(`-D: cannot open ${args.D}`);
      }
      closers.push(() => file.close());
      writeLine = (line) => file.write(line);
    }
    options.logger = lineLogger(logItems, writeLine);
  }

  const result = runImage(image, options);
  if (result.stop === 'load-error') return fail(`${path}: ${result.error}`);
  for (const w of result.warnings ?? []) io.stderr(`exitless: warning: ${w}\n`);
  if (result.stop === 'max-cycles') io.stderr(`exitless: stopped after ${result.cycles} cycles (--max-cycles)\n`);
  if (result.stop === 'entry-failure' || result.stop === 'unhandled-exit') {
    io.stderr(`exitless: ${result.error}\n${result.vm?.dump ?? ''}\n`);
  }
  if (result.vm !== undefined) {
    // Like kvm_stat: the VM's exits by reason, on stderr so that the guest's serial output stays as on bare metal.
    const exits = Object.entries(result.vm.exits).sort((a, b) => b[1] - a[1]);
    const total = exits.reduce((n, [, c]) => n + c, 0);
    io.stderr(`exitless: ${total} VM exits in ${result.cycles.toLocaleString('en-US')} simulated cycles: ${exits.map(([r, c]) => `${r} ${c}`).join(', ') || 'none'}\n`);
  }
  if (result.net !== undefined) {
    const busy = result.cycles > 0 ? (100 * (result.cycles - (result.idleCycles ?? 0))) / result.cycles : 0;
    const lines = [...result.net.lines, `CPU busy ${busy.toFixed(1)}% of ${result.cycles.toLocaleString('en-US')} simulated cycles (bare metal)`];
    closers.push(() => io.stdout(lines.join('\n') + '\n'));
  }
  return exitCodeOf(result);
}

/** The link peer of a run: --workload, or implied by a netperf-stream / netperf-rr image name. */
function netOptions(args: RunArgs, path: string): NetOptions | null | string {
  const name = basename(path);
  const workload = args.workload ?? (/^netperf-rr/.test(name) ? 'rr' : /^netperf-stream/.test(name) ? 'stream' : undefined);
  if (workload === undefined || workload === 'none') return null;
  if (workload !== 'stream' && workload !== 'rr') return `--workload: '${workload}' is not stream, rr or none`;
  const count = (flag: string, text: string | undefined, lo: number, hi: number): number | undefined | string => {
    if (text === undefined) return undefined;
    const n = Number(text);
    return Number.isInteger(n) && n >= lo && n <= hi ? n : `${flag}: expected a whole number from ${lo} to ${hi}, got '${text}'`;
  };
  const packets = count('--packets', args.packets, 1, 100_000_000);
  const frameSize = count('--frame-size', args.frameSize, 60, 1514);
  const window = count('--window', args.window, 1, 4096);
  const seed = count('--seed', args.seed, 0, 0xffffffff);
  for (const v of [packets, frameSize, window, seed]) if (typeof v === 'string') return v;
  const n = packets as number | undefined;
  return workload === 'stream'
    ? { workload, seed: seed as number | undefined, stream: { frames: n, frameSize: frameSize as number | undefined, window: window as number | undefined } }
    : { workload, seed: seed as number | undefined, rr: { transactions: n, requestSize: frameSize as number | undefined } };
}
