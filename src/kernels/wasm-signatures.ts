// Reads the exported functions' signatures from a WebAssembly binary (type, import, function and
// export sections), so tables keyed by kernel signature are generated from the built module.

const VALTYPES: Record<number, string> = { 0x7f: 'i', 0x7e: 'I', 0x7d: 'f', 0x7c: 'F', 0x7b: 'v128' };

/** Signature as "params:result": one letter per value (i = i32, f = f32, I = i64, F = f64), '' = void. */
export type Signature = string;

export function exportSignatures(bytes: Uint8Array): Map<string, Signature> {
  let p = 8;
  const u32 = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  const name = (): string => {
    const n = u32();
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const valtypes = (): string => {
    const n = u32();
    let s = '';
    for (let i = 0; i < n; i++) s += VALTYPES[bytes[p++]] ?? '?';
    return s;
  };
  const types: Signature[] = [];
  const funcTypes: number[] = [];
  const out = new Map<string, Signature>();
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u32();
    const end = p + size;
    if (id === 1) {
      for (let n = u32(), i = 0; i < n; i++) {
        p++; // 0x60 func
        const params = valtypes();
        types.push(`${params}:${valtypes()}`);
      }
    } else if (id === 2) {
      for (let n = u32(), i = 0; i < n; i++) {
        name();
        name();
        const kind = bytes[p++];
        if (kind === 0) funcTypes.push(u32());
        else if (kind === 1) { p++; const f = bytes[p++]; u32(); if (f & 1) u32(); }
        else if (kind === 2) { const f = bytes[p++]; u32(); if (f & 1) u32(); }
        else { p += 2; }
      }
    } else if (id === 3) {
      for (let n = u32(), i = 0; i < n; i++) funcTypes.push(u32());
    } else if (id === 7) {
      for (let n = u32(), i = 0; i < n; i++) {
        const nm = name();
        const kind = bytes[p++];
        const idx = u32();
        if (kind === 0) out.set(nm, types[funcTypes[idx]]);
      }
    }
    p = end;
  }
  return out;
}
