// test/architecture.test.ts: the layer arrows of DESIGN.md / STYLE.md rule 1, checked on every import in src/:
// core <- cpu <- vmx <- hypervisor <- machine <- debug, cli; core <- devices; asm stands alone.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** What each layer may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  asm: [],
  cpu: ['core'],
  devices: ['core'],
  vmx: ['core', 'cpu'],
  hypervisor: ['core', 'cpu', 'vmx', 'devices'],
  machine: ['core', 'cpu', 'vmx', 'hypervisor', 'devices', 'asm'],
  debug: ['core', 'cpu', 'vmx', 'hypervisor', 'devices', 'machine', 'asm'],
  cli: ['core', 'cpu', 'vmx', 'hypervisor', 'devices', 'machine', 'asm', 'debug'],
  bench: ['core', 'cpu', 'vmx', 'hypervisor', 'devices', 'machine', 'asm', 'cli'],
  // src/index.ts: the package's API, re-exporting from every layer (nothing in src/ imports it).
  'index.ts': ['core', 'cpu', 'vmx', 'hypervisor', 'devices', 'machine', 'asm'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (path: string): string => relative(src, path).split(/[\\/]/)[0];

describe('layering (STYLE rule 1)', () => {
  it('every import in src/ points down the layer arrows', () => {
    const bad: string[] = [];
    for (const file of files(src)) {
      const from = layerOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
        const to = layerOf(resolve(dirname(file), m[1]));
        if (to === 'index.ts' && from !== 'index.ts') bad.push(`${relative(src, file)} imports the package API (src/index.ts)`);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) bad.push(`${relative(src, file)} imports ${to}/ (${m[1]})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('knows every layer in src/', () => {
    const layers = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory() || n.endsWith('.ts'));
    for (const l of layers) expect(Object.keys(ALLOWED), l).toContain(l);
  });
});
