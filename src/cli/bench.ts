// `npm run bench`: runs the peers' benchmark images (shared/bench) through runImage, checks their results
// and prints guest MIPS beside the peers' figures. Wall-clock time is measured here and nowhere else in src/.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runImage } from '../machine/run.js';
import { assembleFile } from '../asm/index.js';

/** The peers' medians from shared/bench/README.md (guest MIPS; boot in ms). */
const PEERS: { name: string; w1: string; w2: string; boot: string; smc?: string }[] = [
  { name: 'native (same loop bytes, Linux process)', w1: '13,190', w2: '3,665', boot: '6 ms' },
  { name: 'QEMU 7.2 TCG (JIT)', w1: '2,367', w2: '1,086', boot: '111 ms', smc: '17 / 54' },
  { name: 'v86 0.5.462, JIT, no BIOS', w1: '1,132', w2: '654', boot: '61 ms', smc: '67 / 38' },
  { name: 'Bochs 2.7 (C++ interpreter)', w1: '88', w2: '82', boot: '131 ms' },
  { name: 'v86 0.5.462, interpreter only', w1: '78', w2: '71', boot: '60 ms' },
];

/** Loop instructions in a *-big / *-smc image, and in w1-small. */
const BIG_INSTRUCTIONS = 1e9;
const SMALL_INSTRUCTIONS = 1e7;

interface Measured {
  name: string;
  ms: number;
  instructions: number;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs one image `runs` times; throws if the guest's D line differs from NAME.expect. */
function measure(dir: string, name: string, runs: number): Measured {
  const image = new Uint8Array(readFileSync(join(dir, `${name}.bin`)));
  const expected = readFileSync(join(dir, `${name}.expect`), 'latin1').trim();
  const times: number[] = [];
  let instructions = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const result = runImage(image);
    const t1 = performance.now();
    const line = result.serial.split('\n').find((l) => l.startsWith('D ')) ?? '(no D line)';
    if (line.trim() !== expected || result.exitStatus !== 1) {
      throw new Error(
        `${name}: wrong result\n  expected: ${expected} (exit status 1)\n  got:      ${line.trim()} (stop ${result.stop}, exit status ${result.exitStatus})`,
      );
    }
    times.push(t1 - t0);
    instructions = result.instructions;
  }
  return { name, ms: median(times), instructions };
}

function mips(tBig: number, tTiny: number, instructions = BIG_INSTRUCTIONS): string {
  const dt = tBig - tTiny;
  if (dt <= 0) return 'n/a';
  return Math.round(instructions / 1e6 / (dt / 1000)).toLocaleString('en-US');
}

/**
 * A/B against another build (`--against DIR`, DIR holding that build's dist/): the big images alternately on this
 * build and that one, `runs` times each, best time of each. Alternating on one machine at one time is what makes a
 * few-percent comparison meaningful on a noisy host; the best run is the least disturbed one.
 */
async function against(other: string, dir: string, runs: number): Promise<number> {
  const path = resolve(other, 'dist', 'src', 'machine', 'run.js');
  if (!existsSync(path)) {
    console.error(`bench: --against: no build at ${path} (run npm run build there)`);
    return 2;
  }
  const theirs = (await import(pathToFileURL(path).href)) as { runImage: typeof runImage };
  console.log(`exitless bench A/B: this build vs ${other}, ${runs} alternating run(s) each, best time`);
  for (const name of ['w1-big', 'w2-big', 'w1-smc', 'w2-smc']) {
    const image = new Uint8Array(readFileSync(join(dir, `${name}.bin`)));
    let ours = Infinity;
    let base = Infinity;
    for (let r = 0; r < runs; r++) {
      let t0 = performance.now();
      theirs.runImage(image);
      base = Math.min(base, performance.now() - t0);
      t0 = performance.now();
      runImage(image);
      ours = Math.min(ours, performance.now() - t0);
    }
    const delta = ((base - ours) / base) * 100;
    console.log(`  ${name.padEnd(7)} this ${(BIG_INSTRUCTIONS / 1e3 / ours).toFixed(1).padStart(6)} MIPS   other ${(BIG_INSTRUCTIONS / 1e3 / base).toFixed(1).padStart(6)} MIPS   ${delta >= 0 ? '+' : ''}${delta.toFixed(1)}%`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let runs = 1;
  let quick = false;
  let other: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--against') other = argv[++i] ?? '';
    else if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i].startsWith('--runs=')) runs = Number(argv[i].slice(7));
    else {
      console.error(`bench: unknown argument ${argv[i]} (use --runs N, --quick, --against DIR)`);
      return 2;
    }
  }
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('bench: --runs wants a positive whole number');
    return 2;
  }
  const dir = resolve(process.env.EXITLESS_BENCH_DIR ?? join(repoRoot(), '..', 'shared', 'bench'));
  if (!existsSync(join(dir, 'w1-tiny.bin'))) {
    console.error(`bench: no benchmark images in ${dir} (set EXITLESS_BENCH_DIR)`);
    return 2;
  }
  if (other !== null) return against(other, dir, runs);
  const names = quick ? ['w1-tiny', 'w1-small'] : ['w1-tiny', 'w1-big', 'w2-tiny', 'w2-big', 'w1-smc', 'w2-smc'];
  console.log(`exitless bench: ${dir}, median of ${runs} run(s)${quick ? ', quick (w1-small, 1e7 loop instructions)' : ''}`);
  const t: Record<string, Measured> = {};
  try {
    for (const name of names) {
      t[name] = measure(dir, name, runs);
      const m = t[name];
      console.log(`  ${name.padEnd(9)} ${m.ms.toFixed(1).padStart(10)} ms  ${m.instructions.toLocaleString('en-US').padStart(15)} instructions  ok`);
    }
  } catch (e) {
    console.error(`bench: FAILED: ${(e as Error).message}`);
    return 1;
  }
  console.log('');
  if (quick) {
    console.log(`w1 guest MIPS (small - tiny, 1e7 instructions): ${mips(t['w1-small'].ms, t['w1-tiny'].ms, SMALL_INSTRUCTIONS)}`);
    return 0;
  }
  const rows = [
    ['peer', 'w1', 'w2', 'boot (tiny image)', 'SMC w1 / w2'],
    [
      '**exitless** (this run)',
      mips(t['w1-big'].ms, t['w1-tiny'].ms),
      mips(t['w2-big'].ms, t['w2-tiny'].ms),
      `${Math.round(t['w1-tiny'].ms)} ms`,
      `${mips(t['w1-smc'].ms, t['w1-tiny'].ms)} / ${mips(t['w2-smc'].ms, t['w2-tiny'].ms)}`,
    ],
    ...PEERS.map((p) => [p.name, p.w1, p.w2, p.boot, p.smc ?? '']),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => '| ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ') + ' |';
  console.log('Guest MIPS = 1e9 / (t(big) - t(tiny)); SMC = 1e9 / (t(smc) - t(tiny)). Peers: shared/bench/README.md.');
  console.log(line(rows[0]));
  console.log('|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const r of rows.slice(1)) console.log(line(r));
  return netperf(runs);
}

/** NETPERF_FRAMES 1514-byte frames through guests/netperf-stream.asm on bare metal: simulated packets per wall second. */
const NETPERF_FRAMES = 50_000;

function netperf(runs: number): number {
  const asm = assembleFile(join(repoRoot(), 'guests', 'netperf-stream.asm'));
  if (!asm.ok) {
    console.error(`bench: netperf-stream.asm does not assemble: ${asm.errors[0]?.message}`);
    return 1;
  }
  const times: number[] = [];
  let lines: string[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const result = runImage(asm.bytes, { net: { workload: 'stream', stream: { frames: NETPERF_FRAMES } } });
    times.push(performance.now() - t0);
    const report = result.net?.report as { completed?: number } | undefined;
    if (result.exitStatus !== 1 || report?.completed !== 1) {
      console.error(`bench: netperf-stream FAILED (exit status ${result.exitStatus}, peer completed ${report?.completed})`);
      return 1;
    }
    lines = result.net!.lines;
  }
  const ms = median(times);
  console.log('');
  console.log(`netperf-stream on bare metal: ${NETPERF_FRAMES.toLocaleString('en-US')} frames of 1514 bytes in ${ms.toFixed(0)} ms wall (median of ${runs})`);
  console.log(`  ${Math.round(NETPERF_FRAMES / (ms / 1000)).toLocaleString('en-US')} simulated packets per wall second`);
  for (const l of lines) console.log(`  ${l}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
