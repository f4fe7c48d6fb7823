// Unit tests for the preprocessor: single-line and multi-line macros, conditionals, %rep, %include
// resolution through an injected file reader, and its error messages.

import { describe, expect, it } from 'vitest';
import { Preprocessor } from '../../src/asm/preprocess.js';

function pp(src: string, files: Record<string, string> = {}, defines: Record<string, string> = {}) {
  const p = new Preprocessor({ readFile: (f) => files[f], includePaths: ['inc'], defines });
  const lines = p.run(src, 'main.asm');
  return { text: lines.map((l) => l.text.trim()).filter((t) => t !== ''), lines, errors: p.errors };
}

describe('single-line macros', () => {
  it('expands recursively, with parameters, and not inside strings', () => {
    const r = pp('%define A 1\n%define B (A+A)\n%define SQ(x) ((x)*(x))\nmov eax, B\ndd SQ(B)\ndb "A"');
    expect(r.text).toEqual(['mov eax, (1+1)', 'dd (((1+1))*((1+1)))', 'db "A"']);
  });

  it('does not expand a macro inside itself', () => {
    expect(pp('%define X X+1\ndd X').text).toEqual(['dd X+1']);
  });

  it('%undef, %assign and %xdefine', () => {
    const r = pp('%define A 5\n%xdefine B A\n%undef A\n%assign C B*2\ndd B, C\n%ifdef A\nbad\n%endif');
    expect(r.text).toEqual(['dd 5, 10']);
  });

  it('takes -D style defines from options', () => {
    expect(pp('%ifdef FOO\ndd FOO\n%endif', {}, { FOO: '3' }).text).toEqual(['dd 3']);
  });
});

describe('conditionals', () => {
  it('%if / %elif / %else / %endif, nested', () => {
    const src = '%if 1 > 2\na\n%elif 2 > 1\n%if 0\nb\n%else\nc\n%endif\n%else\nd\n%endif';
    expect(pp(src).text).toEqual(['c']);
  });

  it('reports unbalanced conditionals', () => {
    expect(pp('%endif').errors[0].message).toBe('%endif without %if');
    expect(pp('%if 1\nx').errors[0].message).toBe('expected %endif before end of file');
    expect(pp('%else').errors[0].message).toBe('%else without %if');
  });
});

describe('multi-line macros', () => {
  it('substitutes %1..%n, %0 and %%locals, uniquely per call', () => {
    const src = '%macro m 2\n%%l: mov %1, %2 ; c\ndd %0\njmp %%l\n%endmacro\nm eax, 1\nm ebx, 2';
    const t = pp(src).text;
    expect(t[0]).toMatch(/^\.\.@(\d+)\.l: mov eax, 1$/);
    expect(t[3]).toMatch(/^\.\.@(\d+)\.l: mov ebx, 2$/);
    expect(t[0]).not.toBe(t[3].replace('ebx, 2', 'eax, 1'));
    expect(t[1]).toBe('dd 2');
  });

  it('supports defaults, greedy parameters, braces and labels before a call', () => {
    const src = '%macro d 1-2 9\ndb %1, %2\n%endmacro\n%macro g 1+\ndb %1\n%endmacro\nd 1\nd 1, 2\ng 1, 2, 3\nlbl: d {3}';
    expect(pp(src).text).toEqual(['db 1, 9', 'db 1, 2', 'db 1, 2, 3', 'lbl:', 'db 3, 9']);
  });

  it('reports a wrong parameter count and unterminated definitions', () => {
    expect(pp('%macro m 2\nnop\n%endmacro\nm 1').errors[0].message).toBe("macro 'm' does not take 1 parameters");
    expect(pp('%macro m 0\nnop').errors[0].message).toMatch(/end of file while still defining macro 'm'/);
  });

  it('bounds runaway recursion instead of hanging', () => {
    const r = pp('%macro r 0\nr\n%endmacro\nr');
    expect(r.errors[0].message).toMatch(/nested too deeply/);
  });
});

describe('%rep and %include', () => {
  it('%rep repeats its body', () => {
    expect(pp('%assign i 0\n%rep 3\ndb i\n%assign i i+1\n%endrep').text).toEqual(['db 0', 'db 1', 'db 2']);
  });

  it('resolves includes relative to the including file, then the main file, then include paths', () => {
    const files = { 'lib/a.inc': '%include "b.inc"\ndb 1', 'lib/b.inc': 'db 2', 'inc/c.inc': 'db 3' };
    const r = pp('%include "lib/a.inc"\n%include "c.inc"', files);
    expect(r.text).toEqual(['db 2', 'db 1', 'db 3']);
    expect(r.lines[0].file).toBe('lib/b.inc');
    expect(r.lines[0].line).toBe(1);
  });

  it('reports a missing include with its name and place', () => {
    const r = pp('nop\n%include "lib/x.inc"');
    expect(r.errors).toEqual([{ file: 'main.asm', line: 2, message: '%include file not found: lib/x.inc' }]);
  });

  it('stops a file that includes itself', () => {
    const r = pp('%include "main.asm"', { 'main.asm': '%include "main.asm"' });
    expect(r.errors[0].message).toBe('%include nested too deeply');
  });
});
