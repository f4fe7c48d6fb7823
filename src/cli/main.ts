// The exitless command line: yargs wiring of run / asm / disasm / demo, QEMU-style single-dash options.
// Each command lives in its own file; this one parses, dispatches and turns usage errors into exit code 2.

import { writeFileSync } from 'node:fs';
import yargs from 'yargs';
import { assembleFile } from '../asm/index.js';
import { demoCommand } from './demo.js';
import { disassemble } from './disasm.js';
import { type CliIo, processIo } from './io.js';
import { EXIT_USAGE, readGuest, runCommand } from './run-command.js';

function parseAddress(text: string | undefined, option: string): number | undefined | Error {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return new Error(`${option}: '${text}' is not an address (e.g. 0x100000)`);
  return n;
}

/** Runs the command line; returns the process exit code. Output goes through `io` (tests pass their own). */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  // Handlers only choose what to do; it runs after parsing, so a usage error found late (strict mode) never
  // follows a half-run command.
  let action: (() => number) | null = null;
  let usageError: string | null = null;
  const parser = yargs(argv)
    .scriptName('exitless')
    .parserConfiguration({ 'short-option-groups': false, 'boolean-negation': false, 'camel-case-expansion': true })
    .usage('$0 <command> [options]\n\nAn instruction-level IA-32 PC emulator for multiboot guests.')
    .command(
      'run [image]',
      'boot a multiboot image (or assemble and boot a .asm guest)',
      (y) =>
        y
          .positional('image', { type: 'string', describe: 'multiboot image (ELF32 or a.out kludge) or .asm source' })
          .option('kernel', { type: 'string', describe: 'the image, QEMU style (-kernel FILE)' })
          .option('m', { type: 'string', describe: 'RAM size: 128M, 1G, or MiB (default 128M)' })
          .option('serial', { type: 'string', describe: 'COM1 backend: stdio | file:PATH | none', default: 'stdio' })
          .option('append', { type: 'string', describe: 'kernel command line arguments' })
          .option('initrd', { type: 'string', describe: 'multiboot modules: "FILE [args],FILE2"' })
          .option('d', { type: 'string', describe: 'log items: int,cpu_reset,guest_errors,unimp,cpu,exec (-d help)' })
          .option('D', { type: 'string', describe: 'write the log to FILE instead of stderr' })
          .option('max-cycles', { type: 'string', describe: 'stop after N simulated cycles (exit code 124)' })
          .option('no-reboot', { type: 'boolean', describe: 'stop on triple fault (exitless always stops; accepted for QEMU muscle memory)' })
          .option('debugcon', { type: 'string', describe: 'port 0xE9 console backend: stdio | file:PATH | none', default: 'none' })
          .option('workload', { type: 'string', describe: 'link peer on the NIC: stream | rr | none (default: from a netperf-* image name)' })
          .option('packets', { type: 'string', describe: 'stream: data frames; rr: transactions' })
          .option('frame-size', { type: 'string', describe: 'stream data frame / rr request size, 60-1514 bytes' })
          .option('window', { type: 'string', describe: 'stream: frames in flight before an ack (default 64)' })
          .option('itr', { type: 'string', describe: 'the guest NIC driver\'s ITR (256 ns units), passed as itr=N' })
          .option('seed', { type: 'string', describe: 'seed of the link peer payloads (default 1)' })
          .option('mode', { type: 'string', describe: 'bare (default): the guest owns the board | trap: in a VM under the TypeScript hypervisor' }),
      (args) => {
        action = () =>
          runCommand(
          {
            image: args.image,
            kernel: args.kernel,
            m: args.m,
            serial: args.serial,
            append: args.append,
            initrd: args.initrd,
            d: args.d,
            D: args.D,
            maxCycles: args.maxCycles,
            noReboot: args.noReboot,
            debugcon: args.debugcon,
            workload: args.workload,
            packets: args.packets,
            frameSize: args.frameSize,
            window: args.window,
            itr: args.itr,
            seed: args.seed,
            mode: args.mode,
          },
          io,
        );
      },
    )
    .command(
      'asm <source>',
      'assemble a NASM-syntax guest into an image',
      (y) =>
        y
          .positional('source', { type: 'string', demandOption: true })
          .option('o', { type: 'string', describe: 'output image', demandOption: true }),
      (args) => {
        action = () => asmCommand(args.source, args.o, io);
      },
    )
    .command(
      'disasm <image>',
      'disassemble an image (NASM syntax); multiboot images start at their load address',
      (y) =>
        y
          .positional('image', { type: 'string', demandOption: true })
          .option('org', { type: 'string', describe: 'address of the first byte of the file' })
          .option('start', { type: 'string', describe: 'first address to disassemble' })
          .option('length', { type: 'string', describe: 'bytes to disassemble' }),
      (args) => {
        action = () => disasmCommand(args, io);
      },
    )
    .command('demo', 'boot the example guests and summarise what they report', {}, () => {
      action = () => demoCommand(io);
    })
    .demandCommand(1, 'give a command: run, asm, disasm or demo')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((message, error) => {
      usageError = message ?? error?.message ?? 'invalid command line';
    });

  let output = '';
  try {
    await parser.parseAsync(argv, {}, (_err, _argv, out) => {
      output = out;
    });
  } catch (e) {
    usageError ??= e instanceof Error ? e.message : String(e);
  }
  if (usageError !== null) {
    io.stderr(`exitless: ${String(usageError).split('\n')[0]}\n`);
    return EXIT_USAGE;
  }
  if (output !== '') io.stdout(output + '\n');
  const chosen = action as (() => number) | null;
  if (chosen === null) return 0;
  try {
    return chosen();
  } catch (e) {
    // An exception escaping the emulator is a bug in exitless, never the guest's doing: say so in one line.
    const what = e instanceof Error ? e.message : String(e);
    io.stderr(`exitless: internal error: ${what.split('\n')[0]} (a bug in exitless; please report it with the image)\n`);
    return EXIT_INTERNAL;
  }
}

/** EX_SOFTWARE from sysexits.h: an internal software error. */
const EXIT_INTERNAL = 70;

function asmCommand(source: string, out: string, io: CliIo): number {
  const result = assembleFile(source);
  if (!result.ok) {
    for (const e of result.errors) io.stderr(`${e.file}:${e.line}: ${e.message}\n`);
    return EXIT_USAGE;
  }
  try {
    writeFileSync(out, result.bytes);
  } catch {
    io.stderr(`exitless: cannot write ${out}\n`);
    return EXIT_USAGE;
  }
  return 0;
}

function disasmCommand(args: { image: string; org?: string; start?: string; length?: string }, io: CliIo): number {
  const org = parseAddress(args.org, '--org');
  const start = parseAddress(args.start, '--start');
  const length = parseAddress(args.length, '--length');
  for (const v of [org, start, length]) {
    if (v instanceof Error) {
      io.stderr(`exitless: ${v.message}\n`);
      return EXIT_USAGE;
    }
  }
  const image = readGuest(args.image, io);
  if (image === null) return EXIT_USAGE;
  const lines = disassemble(image, { org: org as number | undefined, start: start as number | undefined, length: length as number | undefined });
  io.stdout(lines.join('\n') + (lines.length > 0 ? '\n' : ''));
  return 0;
}
