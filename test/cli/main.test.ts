// In-process tests of the exitless command line: run (QEMU options, exit statuses, errors), asm, disasm, demo.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCharDev, parseCycles, parseLogItems, parseMemorySize } from '../../src/cli/options.js';
import { readManifest, summarize } from '../../src/cli/demo.js';
import { aoutImage } from '../helpers/images.js';
import { cli } from './capture.js';

const BENCH = process.env.EXITLESS_BENCH_DIR ?? new URL('../../../shared/bench/', import.meta.url).pathname;
const TINY = BENCH + 'w1-tiny.bin';
const tmp = mkdtempSync(join(tmpdir(), 'exitless-cli-'));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe('option parsers', () => {
  it('parses QEMU memory sizes', () => {
    expect(parseMemorySize('128')).toEqual({ ok: true, value: 128 << 20 });
    expect(parseMemorySize('128M')).toEqual({ ok: true, value: 128 << 20 });
    expect(parseMemorySize('1G')).toEqual({ ok: true, value: 1 << 30 });
    expect(parseMemorySize('4096k')).toEqual({ ok: true, value: 4 << 20 });
    expect(parseMemorySize('1.5G')).toEqual({ ok: true, value: 1.5 * (1 << 30) });
    for (const bad of ['x', '', '1M', '8G', '-5', '1000001b', '3G', '2049M']) expect(parseMemorySize(bad).ok, bad).toBe(false);
    expect(parseMemorySize('2G')).toEqual({ ok: true, value: 2 ** 31 }); // PhysicalMemory's limit
  });

  it('parses -d items, backends and cycle counts', () => {
    const items = parseLogItems('int,cpu_reset');
    expect(items.ok && [...items.value]).toEqual(['int', 'cpu_reset']);
    expect(parseLogItems('int,bogus')).toEqual({ ok: false, error: "-d: unknown log item 'bogus' (try -d help)" });
    expect(parseCharDev('-serial', 'file:/tmp/x')).toEqual({ ok: true, value: { kind: 'file', path: '/tmp/x' } });
    expect(parseCharDev('-serial', 'tcp::4444').ok).toBe(false);
    expect(parseCycles('1e9')).toEqual({ ok: true, value: 1e9 });
    expect(parseCycles('1_000')).toEqual({ ok: true, value: 1000 });
    expect(parseCycles('0').ok).toBe(false);
  });
});

describe('exitless run', () => {
  it('boots a bench image: COM1 on stdout, QEMU exit status 1', async () => {
    const r = await cli('run', TINY);
    expect(r.code).toBe(1);
    expect(r.out).toBe('S\n' + readFileSync(BENCH + 'w1-tiny.expect', 'latin1'));
    expect(r.err).toBe('');
  });

  it('accepts QEMU-style single-dash options', async () => {
    const r = await cli('run', '-kernel', TINY, '-m', '64M', '-no-reboot', '-serial', 'none', '-append', 'a b', '-d', 'int,cpu_reset');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe('');
  });

  it('writes serial output and the log to files', async () => {
    const serial = join(tmp, 'serial.txt');
    const log = join(tmp, 'log.txt');
    const r = await cli('run', TINY, '-serial', `file:${serial}`, '-d', 'cpu', '-D', log);
    expect(r.code).toBe(1);
    expect(readFileSync(serial, 'latin1')).toMatch(/^S\nD eax=/);
    expect(readFileSync(log, 'latin1')).toMatch(/EIP=/);
  });

  it('stops at --max-cycles with exit code 124', async () => {
    const r = await cli('run', BENCH + 'w1-big.bin', '--max-cycles', '100000', '-serial', 'none');
    expect(r.code).toBe(124);
    expect(r.err).toBe('exitless: stopped after 100000 cycles (--max-cycles)\n');
  });

  it('refuses a malformed image with one line and exit code 2', async () => {
    const bad = file('bad.bin', aoutImage({ patch: { checksum: 7 } }));
    const r = await cli('run', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^exitless: .*bad\.bin: multiboot header checksum mismatch \(magic at offset 0x0\)\n$/);
    const empty = await cli('run', file('empty.bin', new Uint8Array(0)));
    expect(empty.err).toMatch(/empty\.bin: image is 0 bytes\n$/);
  });

  it('gives one-line errors for bad options and missing files', async () => {
    for (const argv of [
      ['run', TINY, '-m', 'lots'],
      ['run', TINY, '-d', 'nope'],
      ['run', TINY, '-serial', 'pty'],
      ['run', TINY, '--max-cycles', 'many'],
      ['run', join(tmp, 'missing.bin')],
      ['run'],
      ['run', TINY, '--frobnicate'],
      ['frob'],
      [],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n').length, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.out).toBe('');
    }
  });

  it('lists log items with -d help and prints help', async () => {
    const d = await cli('run', '-d', 'help');
    expect(d.code).toBe(0);
    expect(d.out).toContain('guest_errors');
    const h = await cli('--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('exitless run [image]');
  });

  it('prints assembler errors as file:line: message, exit 2', async () => {
    const src = file('broken.asm', 'bits 32\n  mov eax,\n');
    const r = await cli('run', src);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.asm:2: /);
  });
});

describe('exitless asm and disasm', () => {
  it('assembles a guest to an image and disassembles it at the multiboot load address', async () => {
    const out = join(tmp, 'hello.bin');
    const a = await cli('asm', new URL('../../guests/hello.asm', import.meta.url).pathname, '-o', out);
    expect(a.code, a.err).toBe(0);
    const d = await cli('disasm', out, '--length', '64');
    expect(d.code).toBe(0);
    expect(d.out.split('\n')[0]).toMatch(/^00100000 /);
  });

  it('disassembles flat bytes at --org', async () => {
    const code = file('code.bin', Uint8Array.of(0xfa, 0xf4, 0xeb, 0xfd, 0x0f, 0x01, 0xc1));
    const d = await cli('disasm', code, '--org', '0x7c00');
    expect(d.out).toBe(
      ['00007c00  fa                   cli', '00007c01  f4                   hlt', '00007c02  ebfd                 jmp short 00007C01h', '00007c04  0f01c1               vmcall', ''].join('\n'),
    );
    const bad = await cli('disasm', code, '--org', 'zz');
    expect(bad.code).toBe(2);
  });
});

describe('exitless demo helpers', () => {
  it('reads both manifest shapes', () => {
    const a = readManifest(file('m1.json', JSON.stringify([{ file: 'x.asm', expectedStatus: 3 }])));
    expect('guests' in a && a.guests).toEqual([{ file: 'x.asm', expectedStatus: 3, description: undefined }]);
    const b = readManifest(file('m2.json', JSON.stringify({ qemu: { memoryBytes: 1 << 25 }, guests: [{ file: 'y.asm', exitStatus: 1 }] })));
    expect('guests' in b && b.memoryBytes).toBe(1 << 25);
    expect('error' in readManifest(join(tmp, 'none.json'))).toBe(true);
  });

  it('counts kvm-unit-tests lines', () => {
    expect(summarize('PASS: a\nFAIL: b\r\nSKIP: c\nPASS: d\nSUMMARY: 4 tests, 1 unexpected failures\n')).toEqual({
      pass: 2,
      fail: 1,
      skip: 1,
      summary: 'SUMMARY: 4 tests, 1 unexpected failures',
    });
  });

  it('runs the demo and prints one line per guest', async () => {
    const r = await cli('demo');
    expect(r.out).toContain('hello.asm');
    expect(r.out).toMatch(/ok {3}hello\.asm --mode trap .* VM exits/);
    expect(r.out).toMatch(/ok {3}vmx\/vmx-basic\.asm/);
    expect(r.out).toMatch(/guests behaved as expected/);
  });
});

describe('exitless run --mode', () => {
  const hello = new URL('../../guests/hello.asm', import.meta.url).pathname;

  it('trap: the guest prints what it prints on bare metal, the exits by reason go to stderr', async () => {
    const bare = await cli('run', hello);
    const trap = await cli('run', hello, '--mode', 'trap');
    expect(trap.out).toBe(bare.out);
    expect(trap.code).toBe(bare.code);
    expect(trap.err).toMatch(/^exitless: \d+ VM exits in [\d,]+ simulated cycles: IO_INSTRUCTION \d+\n$/);
    expect(bare.err).toBe('');
  });

  it('-d vmexit logs kvm_entry / kvm_exit lines', async () => {
    const r = await cli('run', hello, '--mode', 'trap', '-d', 'vmexit');
    expect(r.err).toMatch(/^kvm_entry: vcpu 0, rip 0x[0-9a-f]+$/m);
    expect(r.err).toMatch(/^kvm_exit: vcpu 0 reason IO_INSTRUCTION rip 0x[0-9a-f]+ info1 0x[0-9a-f]{16} info2 0x0{16} intr_info 0x00000000 error_code 0x00000000$/m);
  });

  it("trap: guest RAM plus the hypervisor's 4 MiB must fit the board (2 GiB): one line, status 2", async () => {
    const r = await cli('run', hello, '--mode', 'trap', '-m', '2G');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-m: at most 2044 MiB with --mode trap/);
  });

  it('an unknown mode is a usage error', async () => {
    const r = await cli('run', hello, '--mode', 'eli-someday');
    expect(r.code).toBe(2);
    expect(r.err).toBe("exitless: --mode: 'eli-someday' is not bare or trap\n");
  });
});
