// A restricted reader of Python's pickle format: the opcodes torch.save uses for a state_dict
// (protocols 2–4), and only the globals a state_dict needs. Nothing is ever executed: a global is
// looked up in a fixed table, and anything else is an error naming the opcode or global and the file.
// https://github.com/python/cpython/blob/main/Lib/pickletools.py documents every opcode.

/** A Python global the reader does not know how to call, kept as its name. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string { return `${this.module}.${this.name}`; }
}

/** A Python dict, as a Map (keys may be numbers or strings); OrderedDict keeps insertion order like Map. */
export type PyDict = Map<unknown, unknown>;

/** What the caller provides: how to build objects from the allowed globals, and how to resolve persistent ids. */
export interface UnpickleHooks {
  /** Called for REDUCE and NEWOBJ on a known global. */
  call(fn: PyGlobal, args: unknown[]): unknown;
  /** Whether module.name may appear in the pickle at all. */
  allowGlobal(module: string, name: string): boolean;
  /** BINPERSID / PERSID: the value a persistent id stands for (a tensor storage). */
  persistentLoad?(pid: unknown): unknown;
}

const NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Little-endian two's-complement integer of any length (LONG1/LONG4), as a number when exact, else a bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  // Parsed from one hex string: shifting in a byte at a time is quadratic in the length.
  const v = BigInt.asIntN(8 * bytes.length, BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`));
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Reads one pickle from buf starting at offset; returns the value and the offset after STOP (the
 * legacy torch format stores several pickles back to back). `source` names the file in errors.
 */
export function unpickle(buf: Uint8Array, hooks: UnpickleHooks, source: string, offset = 0): { value: unknown; end: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = offset;
  const fail = (why: string): never => { throw new Error(`pickle: ${source}: ${why}`); };
  const need = (n: number): void => { if (pos + n > buf.length) fail(`the data ends at byte ${buf.length} inside an opcode (truncated file?)`); };
  const u8 = (): number => { need(1); return buf[pos++]; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => { need(8); const v = Number(view.getBigUint64(pos, true)); pos += 8; return v; };
  const bytes = (n: number): Uint8Array => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const utf8 = (n: number): string => Buffer.from(bytes(n)).toString('utf8');
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('a text opcode has no newline (truncated file?)');
    const s = Buffer.from(buf.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => { if (stack.length === 0) fail(`the stack is empty at byte ${pos - 1}`); return stack.pop(); };
  const top = (): unknown => { if (stack.length === 0) fail(`the stack is empty at byte ${pos - 1}`); return stack[stack.length - 1]; };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail(`an opcode at byte ${pos - 1} needs a MARK and there is none`);
    return stack.splice(m!);
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!hooks.allowGlobal(module, name)) fail(`refers to the Python global ${module}.${name}, which a state_dict does not use; only plain state_dicts (tensors in dicts) can be read`);
    return new PyGlobal(module, name);
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof Map)) fail(`SETITEM(S) on something that is not a dict at byte ${pos - 1}`);
    for (let i = 0; i + 1 < items.length; i += 2) (d as PyDict).set(items[i], items[i + 1]);
  };
  const append = (l: unknown, items: unknown[]): void => {
    if (!Array.isArray(l)) fail(`APPEND(S) on something that is not a list at byte ${pos - 1}`);
    (l as unknown[]).push(...items);
  };
  const callGlobal = (fn: unknown, args: unknown, op: string): unknown => {
    if (!(fn instanceof PyGlobal)) fail(`${op} on something that is not a global at byte ${pos - 1}`);
    if (!Array.isArray(args)) fail(`${op} with arguments that are not a tuple at byte ${pos - 1}`);
    return hooks.call(fn as PyGlobal, args as unknown[]);
  };

  for (;;) {
    const at = pos;
    if (pos >= buf.length) fail(`the pickle ends at byte ${buf.length} without STOP (truncated file?)`);
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: only a hint for buffered readers
      case 0x2e: { // STOP
        return { value: pop(), end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays)
      case 0x64: { const items = popMark(); const d: PyDict = new Map(); setItems(d, items); stack.push(d); break; } // DICT
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { const n = u8(); stack.push(decodeLong(bytes(n))); break; } // LONG1
      case 0x8b: { const n = u32(); stack.push(decodeLong(bytes(n))); break; } // LONG4
      case 0x47: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x49: { // INT (text; protocol 0, also True/False as 01/00)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number(s));
        break;
      }
      case 0x4c: stack.push(Number(line().replace(/L$/, ''))); break; // LONG (text)
      case 0x46: stack.push(Number(line())); break; // FLOAT (text)
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(u64())); break; // BINUNICODE8
      case 0x54: stack.push(Buffer.from(bytes(i32())).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32())); break; // BINBYTES
      case 0x43: stack.push(bytes(u8())); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64())); break; // BINBYTES8
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL without two strings at byte ${at}`);
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(callGlobal(fn, args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(callGlobal(cls, args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x62: { // BUILD: an object's state, e.g. an OrderedDict's _metadata, which loading does not need
        const state = pop();
        const obj = top();
        if (obj === null || typeof obj !== 'object') fail(`BUILD on a ${obj === null ? 'None' : typeof obj} at byte ${at}`);
        Object.defineProperty(obj, 'pyState', { value: state, enumerable: false, configurable: true });
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail(`has a persistent id (BINPERSID) where none is expected, at byte ${at}`);
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID (text)
        const pid = line();
        if (!hooks.persistentLoad) fail(`has a persistent id (PERSID) where none is expected, at byte ${at}`);
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(idx)) fail(`${NAMES[op]} refers to memo entry ${idx}, which was never stored (byte ${at})`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        fail(`unsupported pickle opcode ${NAMES[op] ?? 'unknown'} (0x${op.toString(16).padStart(2, '0')}) at byte ${at}; ` +
          'only the subset torch.save uses for a state_dict is read');
    }
  }
}
