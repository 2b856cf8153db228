/**
 * A small XML well-formedness check for generated documents (the SVG pictures): one root
 * element, every tag closed in order, attributes quoted and not repeated, `&` only in entity
 * references, no `<` in text or attribute values. Not a validating parser: it returns the first
 * problem found, or undefined, and the elements seen, for counting.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
}

export interface XmlCheck {
  problem?: string;
  elements: XmlElement[];
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

function badAmpersand(text: string): boolean {
  for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1))
    if (!ENTITY.test(text.slice(i))) return true;
  return false;
}

export function checkXml(document: string): XmlCheck {
  const elements: XmlElement[] = [];
  const fail = (problem: string): XmlCheck => ({ problem, elements });
  let text = document;
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) return fail('unterminated XML declaration');
    text = text.slice(end + 2);
  }
  const open: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const between = text.slice(i, lt < 0 ? text.length : lt);
    if (badAmpersand(between)) return fail(`bare & in text near ${JSON.stringify(between.slice(0, 40))}`);
    if (open.length === 0 && between.trim() !== '')
      return fail(`text outside the root: ${between.trim().slice(0, 40)}`);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt);
      if (end < 0) return fail('unterminated comment');
      i = end + 3;
      continue;
    }
    const gt = text.indexOf('>', lt);
    if (gt < 0) return fail('unterminated tag');
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const expected = open.pop();
      if (name !== expected) return fail(`</${name}> closes <${expected ?? 'nothing'}>`);
      i = gt + 1;
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const name = NAME.exec(body)?.[0];
    if (!name) return fail(`bad tag <${tag.slice(0, 40)}>`);
    const attributes: Record<string, string> = {};
    let rest = body.slice(name.length);
    while (rest.trim() !== '') {
      const match = /^\s+([A-Za-z_][\w.:-]*)="([^"<]*)"/.exec(rest);
      if (!match) return fail(`bad attributes in <${name}>: ${rest.slice(0, 40)}`);
      const [whole, key, value] = match as unknown as [string, string, string];
      if (key in attributes) return fail(`attribute ${key} twice in <${name}>`);
      if (badAmpersand(value)) return fail(`bare & in attribute ${key} of <${name}>`);
      attributes[key] = value;
      rest = rest.slice(whole.length);
    }
    if (open.length === 0) roots++;
    if (roots > 1) return fail('more than one root element');
    elements.push({ name, attributes });
    if (!selfClosing) open.push(name);
    i = gt + 1;
  }
  if (open.length > 0) return fail(`unclosed <${open.at(-1)}>`);
  if (roots === 0) return fail('no root element');
  return { elements };
}
