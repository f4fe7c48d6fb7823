// Unit tests of the small debug ports: isa-debug-exit, debugcon (0xE9) and the POST/Bochs port sinks.

import { describe, expect, it } from 'vitest';
import { DebugCon } from '../../src/devices/debugcon.js';
import { DebugExit, debugExitStatus } from '../../src/devices/debug-exit.js';
import { PortSink } from '../../src/devices/port-sink.js';

describe('isa-debug-exit', () => {
  it('reports every write with its value and reads all-ones', () => {
    const seen: number[] = [];
    const d = new DebugExit((v) => seen.push(v));
    d.write(0, 1, 0x100); // a byte write keeps the low byte
    d.write(2, 4, 0xdeadbeef);
    expect(seen).toEqual([0, 0xdeadbeef]);
    expect(d.lastValue).toBe(0xdeadbeef);
    expect(d.read(0, 4)).toBe(0xffffffff);
    expect(d.read(1, 1)).toBe(0xff);
  });

  it('computes the QEMU exit status', () => {
    expect(debugExitStatus(0)).toBe(1);
    expect(debugExitStatus(1)).toBe(3);
    expect(debugExitStatus(0x7f)).toBe(0xff);
    expect(debugExitStatus(0x80)).toBe(1);
  });
});

describe('debugcon', () => {
  it('sends bytes to its sink and reads back 0xE9', () => {
    const out: number[] = [];
    const d = new DebugCon((b) => out.push(b));
    d.write(0, 1, 0x41);
    d.write(0, 2, 0x4342); // only the byte at 0xE9 is inside the window
    expect(out).toEqual([0x41, 0x42]);
    expect(d.read(0, 1)).toBe(0xe9);
  });
});

describe('port sink', () => {
  it('collects what kvm-unit-tests writes to the Bochs shutdown port', () => {
    const s = new PortSink('bochs-shutdown', 1);
    for (const c of 'Shutdown') s.write(0, 1, c.charCodeAt(0));
    expect(s.collectedText()).toBe('Shutdown');
    expect(s.read(0, 2)).toBe(0xffff);
    s.clear();
    expect(s.collected().length).toBe(0);
  });

  it('keeps only the last 256 bytes', () => {
    const s = new PortSink('post', 1);
    for (let i = 0; i < 300; i++) s.write(0, 1, i & 0xff);
    const c = s.collected();
    expect(c.length).toBe(256);
    expect(c[0]).toBe(300 - 256);
    expect(s.writes).toBe(300);
  });
});
