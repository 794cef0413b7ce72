/**
 * A small, strict XML well-formedness checker for the tests: balanced tags, one root, quoted and
 * unique attributes, no raw "<" or bare "&" in text or attributes. Returns the element tree so
 * tests can query it. Not a general XML parser (no DTDs, CDATA or namespaces beyond names).
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*$/;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(s: string): string {
  return s
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function checkText(s: string, where: string): void {
  if (s.replace(ENTITY, '').includes('&')) throw new Error(`Bare "&" in ${where}: ${JSON.stringify(s.slice(0, 60))}`);
}

export function parseXml(doc: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skip = (open: string, close: string) => {
    const end = doc.indexOf(close, i + open.length);
    if (end < 0) throw new Error(`Unterminated ${open} at ${i}`);
    i = end + close.length;
  };
  while (i < doc.length) {
    if (doc.startsWith('<!--', i)) skip('<!--', '-->');
    else if (doc.startsWith('<?', i)) skip('<?', '?>');
    else if (doc.startsWith('<!DOCTYPE', i)) skip('<!DOCTYPE', '>');
    else if (doc.startsWith('</', i)) {
      const end = doc.indexOf('>', i);
      const name = doc.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.name !== name) throw new Error(`Mismatched </${name}> at ${i}; open element is <${top?.name}>`);
      i = end + 1;
    } else if (doc[i] === '<') {
      const end = doc.indexOf('>', i);
      if (end < 0) throw new Error(`Unterminated tag at ${i}`);
      let inner = doc.slice(i + 1, end);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const m = /^([^\s]+)/.exec(inner);
      if (!m || !NAME.test(m[1]!)) throw new Error(`Bad tag name at ${i}: ${JSON.stringify(inner.slice(0, 30))}`);
      const el: XmlElement = { name: m[1]!, attrs: {}, children: [], text: '' };
      let rest = inner.slice(m[1]!.length);
      const attr = /^\s+([A-Za-z_][\w.:-]*)="([^"]*)"/;
      for (let a = attr.exec(rest); a; a = attr.exec(rest)) {
        if (a[1]! in el.attrs) throw new Error(`Duplicate attribute ${a[1]} on <${el.name}>`);
        if (a[2]!.includes('<')) throw new Error(`Raw "<" in attribute ${a[1]} of <${el.name}>`);
        checkText(a[2]!, `attribute ${a[1]} of <${el.name}>`);
        el.attrs[a[1]!] = decode(a[2]!);
        rest = rest.slice(a[0].length);
      }
      if (rest.trim() !== '') throw new Error(`Malformed attributes in <${el.name}>: ${JSON.stringify(rest.slice(0, 40))}`);
      const parent = stack.at(-1);
      if (parent) parent.children.push(el);
      else if (root) throw new Error(`Second root element <${el.name}>`);
      else root = el;
      if (!selfClosing) stack.push(el);
      i = end + 1;
    } else {
      const next = doc.indexOf('<', i);
      const text = doc.slice(i, next < 0 ? doc.length : next);
      checkText(text, 'text');
      const top = stack.at(-1);
      if (top) top.text += decode(text);
      else if (text.trim() !== '') throw new Error(`Text outside the root element: ${JSON.stringify(text.slice(0, 40))}`);
      i = next < 0 ? doc.length : next;
    }
  }
  if (stack.length > 0) throw new Error(`Unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error('No root element');
  return root;
}

export function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (pred(e)) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

/** All text beneath an element, in document order. */
export function textOf(el: XmlElement): string {
  return el.text + el.children.map(textOf).join('');
}
