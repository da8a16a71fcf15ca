/**
 * A V8 heap snapshot summarised by constructor: count and self size of each node name, for the
 * kinds that make up objects (object, closure, array, native, hidden, code, string kinds).
 */
import { readFile } from 'node:fs/promises';

export interface HeapRow {
  name: string;
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

export async function summariseSnapshot(path: string): Promise<Map<string, HeapRow>> {
  const snap = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, HeapRow>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!;
    let name =
      type === 'object' || type === 'native' || type === 'closure'
        ? snap.strings[snap.nodes[i + iName]!]!
        : `(${type})`;
    if (type === 'closure') name = `closure ${name}`;
    const row = out.get(name) ?? { name, count: 0, bytes: 0 };
    row.count++;
    row.bytes += snap.nodes[i + iSize]!;
    out.set(name, row);
  }
  return out;
}

/** Rows of `b` minus `a`, per `per` units (e.g. waiting calls), largest byte growth first. */
export function diffRows(a: Map<string, HeapRow>, b: Map<string, HeapRow>, per: number): HeapRow[] {
  const rows: HeapRow[] = [];
  for (const [name, r] of b) {
    const o = a.get(name) ?? { count: 0, bytes: 0 };
    rows.push({ name, count: (r.count - o.count) / per, bytes: (r.bytes - o.bytes) / per });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}
