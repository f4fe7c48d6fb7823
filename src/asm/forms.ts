// The instruction encoding table (SDM Vol. 2 opcode maps), as data in a small insns.dat-like notation,
// compiled once into per-mnemonic form lists. Order within a mnemonic is NASM's preference order.
// Matching operands against forms and emitting bytes is encode.ts's job.

/**
 * One line per form: `mnemonic operands roles : codes`.
 * operands: comma list of patterns (see encode.ts `matchPattern`), `-` for none.
 * roles, one letter per operand: m = ModRM.rm, r = ModRM.reg, x = both (2-operand IMUL),
 *   o = register added to the last opcode byte, i = immediate, j = relative target,
 *   a = moffs address, f = far pointer, - = implicit.
 * codes: hex bytes, `XX+r`, `/r`, `/0`..`/7`, `ib iw id` (next immediate), `rb rd` (relative),
 *   `addr` (32-bit moffs address), `fp` (offset32 then selector16), `o16` / `o32` (operand size).
 */
const CC: ReadonlyArray<[number, string[]]> = [
  [0x0, ['o']], [0x1, ['no']], [0x2, ['b', 'c', 'nae']], [0x3, ['ae', 'nb', 'nc']],
  [0x4, ['e', 'z']], [0x5, ['ne', 'nz']], [0x6, ['be', 'na']], [0x7, ['a', 'nbe']],
  [0x8, ['s']], [0x9, ['ns']], [0xa, ['p', 'pe']], [0xb, ['np', 'po']],
  [0xc, ['l', 'nge']], [0xd, ['ge', 'nl']], [0xe, ['le', 'ng']], [0xf, ['g', 'nle']],
];

const hex = (n: number): string => n.toString(16).padStart(2, '0');

function alu(name: string, base: number, digit: number): string[] {
  const b = (k: number): string => hex(base + k);
  return [
    `${name} rm8,r8 mr : ${b(0)} /r`,
    `${name} rm16,r16 mr : o16 ${b(1)} /r`,
    `${name} rm32,r32 mr : o32 ${b(1)} /r`,
    `${name} r8,rm8 rm : ${b(2)} /r`,
    `${name} r16,rm16 rm : o16 ${b(3)} /r`,
    `${name} r32,rm32 rm : o32 ${b(3)} /r`,
    `${name} al,i8 -i : ${b(4)} ib`,
    `${name} ax,s16 mi : o16 83 /${digit} ib`,
    `${name} ax,i16 -i : o16 ${b(5)} iw`,
    `${name} eax,s32 mi : o32 83 /${digit} ib`,
    `${name} eax,i32 -i : o32 ${b(5)} id`,
    `${name} rm8,i8 mi : 80 /${digit} ib`,
    `${name} rm16,s16 mi : o16 83 /${digit} ib`,
    `${name} rm16,i16 mi : o16 81 /${digit} iw`,
    `${name} rm32,s32 mi : o32 83 /${digit} ib`,
    `${name} rm32,i32 mi : o32 81 /${digit} id`,
  ];
}

function shift(name: string, digit: number): string[] {
  return [8, 16, 32].flatMap((w) => {
    const o = w === 16 ? 'o16 ' : w === 32 ? 'o32 ' : '';
    const op = w === 8 ? 0 : 1;
    return [
      `${name} rm${w},one m- : ${o}${hex(0xd0 + op)} /${digit}`,
      `${name} rm${w},cl m- : ${o}${hex(0xd2 + op)} /${digit}`,
      `${name} rm${w},i8 mi : ${o}${hex(0xc0 + op)} /${digit} ib`,
    ];
  });
}

/** The r/m-only group of F6/F7 and FE/FF (NOT NEG MUL DIV ...). */
function unary(name: string, op8: number, digit: number): string[] {
  return [
    `${name} rm8 m : ${hex(op8)} /${digit}`,
    `${name} rm16 m : o16 ${hex(op8 + 1)} /${digit}`,
    `${name} rm32 m : o32 ${hex(op8 + 1)} /${digit}`,
  ];
}

function wd(name: string, ops: string, roles: string, codes: string): string[] {
  return [16, 32].map((w) => `${name} ${ops.replace(/W/g, String(w))} ${roles} : o${w} ${codes}`);
}

const SIMPLE: ReadonlyArray<[string, string]> = [
  ['cli', 'fa'], ['sti', 'fb'], ['cld', 'fc'], ['std', 'fd'], ['clc', 'f8'], ['stc', 'f9'], ['cmc', 'f5'],
  ['lahf', '9f'], ['sahf', '9e'], ['nop', '90'], ['pause', 'f3 90'], ['hlt', 'f4'], ['cpuid', '0f a2'],
  ['rdtsc', '0f 31'], ['rdmsr', '0f 32'], ['wrmsr', '0f 30'], ['ud2', '0f 0b'], ['leave', 'c9'],
  ['clts', '0f 06'], ['wbinvd', '0f 09'], ['invd', '0f 08'], ['int3', 'cc'], ['into', 'ce'],
  ['int1', 'f1'], ['icebp', 'f1'], ['xlatb', 'd7'], ['rsm', '0f aa'],
  ['vmlaunch', '0f 01 c2'], ['vmresume', '0f 01 c3'], ['vmxoff', '0f 01 c4'], ['vmcall', '0f 01 c1'],
  ['vmfunc', '0f 01 d4'],
  ['cbw', 'o16 98'], ['cwde', 'o32 98'], ['cwd', 'o16 99'], ['cdq', 'o32 99'],
  ['pusha', 'o32 60'], ['pushad', 'o32 60'], ['pushaw', 'o16 60'],
  ['popa', 'o32 61'], ['popad', 'o32 61'], ['popaw', 'o16 61'],
  ['pushf', 'o32 9c'], ['pushfd', 'o32 9c'], ['pushfw', 'o16 9c'],
  ['popf', 'o32 9d'], ['popfd', 'o32 9d'], ['popfw', 'o16 9d'],
  ['iret', 'o32 cf'], ['iretd', 'o32 cf'], ['iretw', 'o16 cf'],
  ['movsb', 'a4'], ['movsw', 'o16 a5'], ['movsd', 'o32 a5'],
  ['cmpsb', 'a6'], ['cmpsw', 'o16 a7'], ['cmpsd', 'o32 a7'],
  ['stosb', 'aa'], ['stosw', 'o16 ab'], ['stosd', 'o32 ab'],
  ['lodsb', 'ac'], ['lodsw', 'o16 ad'], ['lodsd', 'o32 ad'],
  ['scasb', 'ae'], ['scasw', 'o16 af'], ['scasd', 'o32 af'],
  ['insb', '6c'], ['insw', 'o16 6d'], ['insd', 'o32 6d'],
  ['outsb', '6e'], ['outsw', 'o16 6f'], ['outsd', 'o32 6f'],
];

export const FORM_SOURCE: readonly string[] = [
  ...SIMPLE.map(([n, c]) => `${n} - : ${c}`),
  ...alu('add', 0x00, 0), ...alu('or', 0x08, 1), ...alu('adc', 0x10, 2), ...alu('sbb', 0x18, 3),
  ...alu('and', 0x20, 4), ...alu('sub', 0x28, 5), ...alu('xor', 0x30, 6), ...alu('cmp', 0x38, 7),
  ...shift('rol', 0), ...shift('ror', 1), ...shift('rcl', 2), ...shift('rcr', 3),
  ...shift('shl', 4), ...shift('sal', 4), ...shift('shr', 5), ...shift('sar', 7),
  ...unary('not', 0xf6, 2), ...unary('neg', 0xf6, 3), ...unary('mul', 0xf6, 4),
  ...unary('div', 0xf6, 6), ...unary('idiv', 0xf6, 7),

  'mov al,mo8 -a : a0 addr', 'mov ax,mo16 -a : o16 a1 addr', 'mov eax,mo32 -a : o32 a1 addr',
  'mov mo8,al a- : a2 addr', 'mov mo16,ax a- : o16 a3 addr', 'mov mo32,eax a- : o32 a3 addr',
  'mov rm8,r8 mr : 88 /r', ...wd('mov', 'rmW,rW', 'mr', '89 /r'),
  'mov r8,rm8 rm : 8a /r', ...wd('mov', 'rW,rmW', 'rm', '8b /r'),
  ...wd('mov', 'rW,sreg', 'mr', '8c /r'), 'mov m,sreg mr : 8c /r',
  'mov sreg,r16 rm : 8e /r', 'mov sreg,r32 rm : 8e /r', 'mov sreg,m rm : 8e /r',
  'mov r32,cr mr : 0f 20 /r', 'mov cr,r32 rm : 0f 22 /r',
  'mov r32,dr mr : 0f 21 /r', 'mov dr,r32 rm : 0f 23 /r',
  'mov r8,i8 oi : b0+r ib', 'mov r16,i16 oi : o16 b8+r iw', 'mov r32,i32 oi : o32 b8+r id',
  'mov rm8,i8 mi : c6 /0 ib', 'mov rm16,i16 mi : o16 c7 /0 iw', 'mov rm32,i32 mi : o32 c7 /0 id',

  'movzx r16,rm8 rm : o16 0f b6 /r', 'movzx r32,rm8 rm : o32 0f b6 /r', 'movzx r32,rm16 rm : o32 0f b7 /r',
  'movsx r16,rm8 rm : o16 0f be /r', 'movsx r32,rm8 rm : o32 0f be /r', 'movsx r32,rm16 rm : o32 0f bf /r',
  ...wd('lea', 'rW,m', 'rm', '8d /r'),

  'xchg ax,r16 -o : o16 90+r', 'xchg r16,ax o- : o16 90+r',
  'xchg eax,r32 -o : o32 90+r', 'xchg r32,eax o- : o32 90+r',
  'xchg r8,rm8 rm : 86 /r', 'xchg rm8,r8 mr : 86 /r',
  ...wd('xchg', 'rW,rmW', 'rm', '87 /r'), ...wd('xchg', 'rmW,rW', 'mr', '87 /r'),
  'cmpxchg rm8,r8 mr : 0f b0 /r', ...wd('cmpxchg', 'rmW,rW', 'mr', '0f b1 /r'),
  'xadd rm8,r8 mr : 0f c0 /r', ...wd('xadd', 'rmW,rW', 'mr', '0f c1 /r'),
  'cmpxchg8b m m : 0f c7 /1', 'bswap r32 o : o32 0f c8+r',

  ...wd('push', 'rW', 'o', '50+r'), ...wd('push', 'rmW', 'm', 'ff /6'),
  'push es - : 06', 'push cs - : 0e', 'push ss - : 16', 'push ds - : 1e', 'push fs - : 0f a0', 'push gs - : 0f a8',
  'push s32 i : o32 6a ib', 'push i32 i : o32 68 id', 'push s16 i : o16 6a ib', 'push i16 i : o16 68 iw',
  ...wd('pop', 'rW', 'o', '58+r'), ...wd('pop', 'rmW', 'm', '8f /0'),
  'pop es - : 07', 'pop ss - : 17', 'pop ds - : 1f', 'pop fs - : 0f a1', 'pop gs - : 0f a9',

  ...wd('inc', 'rW', 'o', '40+r'), 'inc rm8 m : fe /0', ...wd('inc', 'rmW', 'm', 'ff /0'),
  ...wd('dec', 'rW', 'o', '48+r'), 'dec rm8 m : fe /1', ...wd('dec', 'rmW', 'm', 'ff /1'),
  ...unary('imul', 0xf6, 5),
  ...wd('imul', 'rW,rmW', 'rm', '0f af /r'),
  ...wd('imul', 'rW,sW', 'xi', '6b /r ib'), ...wd('imul', 'rW,iW', 'xi', '69 /r i?'),
  ...wd('imul', 'rW,rmW,sW', 'rmi', '6b /r ib'), ...wd('imul', 'rW,rmW,iW', 'rmi', '69 /r i?'),

  'test rm8,r8 mr : 84 /r', ...wd('test', 'rmW,rW', 'mr', '85 /r'),
  'test r8,rm8 rm : 84 /r', ...wd('test', 'rW,rmW', 'rm', '85 /r'),
  'test al,i8 -i : a8 ib', 'test ax,i16 -i : o16 a9 iw', 'test eax,i32 -i : o32 a9 id',
  'test rm8,i8 mi : f6 /0 ib', 'test rm16,i16 mi : o16 f7 /0 iw', 'test rm32,i32 mi : o32 f7 /0 id',

  ...wd('shld', 'rmW,rW,i8', 'mri', '0f a4 /r ib'), ...wd('shld', 'rmW,rW,cl', 'mr-', '0f a5 /r'),
  ...wd('shrd', 'rmW,rW,i8', 'mri', '0f ac /r ib'), ...wd('shrd', 'rmW,rW,cl', 'mr-', '0f ad /r'),
  ...(
    [['bt', 'a3', 4], ['bts', 'ab', 5], ['btr', 'b3', 6], ['btc', 'bb', 7]] as const
  ).flatMap(([n, op, d]) => [...wd(n, 'rmW,rW', 'mr', `0f ${op} /r`), ...wd(n, 'rmW,i8', 'mi', `0f ba /${d} ib`)]),
  ...wd('bsf', 'rW,rmW', 'rm', '0f bc /r'), ...wd('bsr', 'rW,rmW', 'rm', '0f bd /r'),

  ...CC.flatMap(([cc, names]) =>
    names.flatMap((n) => [
      `j${n} rel8 j : ${hex(0x70 + cc)} rb`,
      `j${n} rel32 j : 0f ${hex(0x80 + cc)} rd`,
      `set${n} r8 m : 0f ${hex(0x90 + cc)} /0`,
      `set${n} m m : 0f ${hex(0x90 + cc)} /0`,
      ...wd(`cmov${n}`, 'rW,rmW', 'rm', `0f ${hex(0x40 + cc)} /r`),
    ]),
  ),
  'jmp rel8 j : eb rb', 'jmp rel32 j : e9 rd', 'jmp ptr f : ea fp', 'jmp mfar m : ff /5',
  'jmp r16 m : o16 ff /4', 'jmp r32 m : o32 ff /4', 'jmp m16 m : o16 ff /4', 'jmp m m : ff /4',
  'call rel32 j : e8 rd', 'call ptr f : 9a fp', 'call mfar m : ff /3',
  'call r16 m : o16 ff /2', 'call r32 m : o32 ff /2', 'call m16 m : o16 ff /2', 'call m m : ff /2',
  'ret - : c3', 'ret i16 i : c2 iw', 'retn - : c3', 'retn i16 i : c2 iw', 'retf - : cb', 'retf i16 i : ca iw',
  'loop srel8 j : e2 rb', 'loope srel8 j : e1 rb', 'loopz srel8 j : e1 rb',
  'loopne srel8 j : e0 rb', 'loopnz srel8 j : e0 rb', 'jecxz srel8 j : e3 rb', 'jcxz srel8 j : 67 e3 rb',
  'int i8 i : cd ib', 'enter i16,i8 ii : c8 iw ib',

  'in al,i8 -i : e4 ib', 'in ax,i8 -i : o16 e5 ib', 'in eax,i8 -i : o32 e5 ib',
  'in al,dx -- : ec', 'in ax,dx -- : o16 ed', 'in eax,dx -- : o32 ed',
  'out i8,al i- : e6 ib', 'out i8,ax i- : o16 e7 ib', 'out i8,eax i- : o32 e7 ib',
  'out dx,al -- : ee', 'out dx,ax -- : o16 ef', 'out dx,eax -- : o32 ef',

  'sgdt m m : 0f 01 /0', 'sidt m m : 0f 01 /1', 'lgdt m m : 0f 01 /2', 'lidt m m : 0f 01 /3',
  'invlpg m m : 0f 01 /7',
  'sldt r16 m : o16 0f 00 /0', 'sldt r32 m : o32 0f 00 /0', 'sldt m m : 0f 00 /0',
  'str r16 m : o16 0f 00 /1', 'str r32 m : o32 0f 00 /1', 'str m m : 0f 00 /1',
  'lldt r16 m : 0f 00 /2', 'lldt m m : 0f 00 /2', 'ltr r16 m : 0f 00 /3', 'ltr m m : 0f 00 /3',
  'smsw r16 m : o16 0f 01 /4', 'smsw r32 m : o32 0f 01 /4', 'smsw m m : 0f 01 /4', 'lmsw r16 m : 0f 01 /6', 'lmsw m m : 0f 01 /6',

  // VMX. The 66/F3 here are mandatory prefixes, literal bytes after any o16/a16/segment prefix (as NASM
  // orders them), not an operand size: no o16/o32, so `o16 vmclear` is 66 66 0F C7 /6 like NASM's.
  'vmxon mu m : f3 0f c7 /6', 'vmclear mu m : 66 0f c7 /6', 'vmptrld mu m : 0f c7 /6', 'vmptrst mu m : 0f c7 /7',
  'vmread rm32,r32 mr : 0f 78 /r', 'vmwrite r32,rm32 rm : 0f 79 /r',
  'invept r32,m128 rm : 66 0f 38 80 /r', 'invvpid r32,m128 rm : 66 0f 38 81 /r',
];

export type Code =
  | { k: 'byte'; v: number }
  | { k: 'plusr'; v: number }
  | { k: 'modrm'; digit: number }
  | { k: 'imm'; size: number }
  | { k: 'rel'; size: number }
  | { k: 'osize'; bits: number }
  | { k: 'addr' }
  | { k: 'farptr' };

export interface Form {
  mnemonic: string;
  patterns: string[];
  roles: string;
  codes: Code[];
  text: string;
}

function compileCode(tok: string, osize: number): Code {
  if (/^[0-9a-f]{2}$/.test(tok)) return { k: 'byte', v: parseInt(tok, 16) };
  if (/^[0-9a-f]{2}\+r$/.test(tok)) return { k: 'plusr', v: parseInt(tok.slice(0, 2), 16) };
  if (tok === '/r') return { k: 'modrm', digit: -1 };
  if (/^\/[0-7]$/.test(tok)) return { k: 'modrm', digit: Number(tok[1]) };
  if (tok === 'ib') return { k: 'imm', size: 1 };
  if (tok === 'iw') return { k: 'imm', size: 2 };
  if (tok === 'id') return { k: 'imm', size: 4 };
  if (tok === 'i?') return { k: 'imm', size: osize === 16 ? 2 : 4 };
  if (tok === 'rb') return { k: 'rel', size: 1 };
  if (tok === 'rd') return { k: 'rel', size: 4 };
  if (tok === 'o16') return { k: 'osize', bits: 16 };
  if (tok === 'o32') return { k: 'osize', bits: 32 };
  if (tok === 'addr') return { k: 'addr' };
  if (tok === 'fp') return { k: 'farptr' };
  throw new Error(`bad form code '${tok}'`);
}

function compile(src: readonly string[]): Map<string, Form[]> {
  const map = new Map<string, Form[]>();
  for (const line of src) {
    const m = /^(\S+) (\S+)(?: (\S+))? : (.*)$/.exec(line);
    if (!m) throw new Error(`bad form '${line}'`);
    const patterns = m[2] === '-' ? [] : m[2].split(',');
    const roles = m[2] === '-' ? '' : (m[3] ?? '');
    if (roles.length !== patterns.length) throw new Error(`roles/operands mismatch in '${line}'`);
    const toks = m[4].trim().split(/\s+/);
    const osize = toks.includes('o16') ? 16 : 32;
    const form: Form = { mnemonic: m[1], patterns, roles, codes: toks.map((t) => compileCode(t, osize)), text: line };
    const list = map.get(m[1]) ?? [];
    list.push(form);
    map.set(m[1], list);
  }
  return map;
}

/** All forms by lower-case mnemonic, in preference order. */
export const FORMS: ReadonlyMap<string, readonly Form[]> = compile(FORM_SOURCE);
