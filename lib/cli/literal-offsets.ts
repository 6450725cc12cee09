/**
 * Where each character of a string or template literal's value sits in the source: the value
 * (what TypeScript calls the literal's `text`) differs from the source between the quotes by its
 * escapes (`\``, `\n`, `\u{1F600}`, a line continuation) and, in a template, by its line
 * endings (ECMA-262 §12.9.6: a template's CRLF and CR are read as LF). `forge-ext build` maps an
 * SDL mistake through this to its exact `file:line:column`.
 */

/**
 * The source offset (relative to `raw`'s start) of each UTF-16 unit of `raw`'s value, plus one
 * past the end, or undefined when this decoding does not give `value` (an escape it does not
 * know, such as a legacy octal one: the caller then points at the literal's start and says so).
 *
 * @param raw The source text between the literal's delimiters.
 * @param value The literal's value, as the TypeScript parser read it.
 * @param template Whether it is a template part (CRLF and CR read as LF).
 */
export function literalOffsets(raw: string, value: string, template: boolean): number[] | undefined {
  const offsets: number[] = [];
  let decoded = '';
  const emit = (text: string, at: number) => {
    decoded += text;
    for (let k = 0; k < text.length; k++) offsets.push(at);
  };
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '\r' && template) {
      emit('\n', i);
      i += raw[i + 1] === '\n' ? 2 : 1;
    } else if (c !== '\\') {
      emit(c, i);
      i++;
    } else {
      const length = escapeLength(raw, i);
      if (length === undefined) return undefined;
      emit(cooked(raw.slice(i, i + length)), i);
      i += length;
    }
  }
  offsets.push(raw.length);
  return decoded === value ? offsets : undefined;
}

/** How many source characters the escape at `raw[i]` (a backslash) spans; undefined for one not handled here. */
function escapeLength(raw: string, i: number): number | undefined {
  const next = raw[i + 1];
  if (next === undefined) return undefined;
  if (next === 'x') return /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4)) ? 4 : undefined;
  if (next === 'u') {
    if (raw[i + 2] === '{') {
      const close = raw.indexOf('}', i + 3);
      const digits = raw.slice(i + 3, close);
      return close > i + 3 && /^[0-9a-fA-F]+$/.test(digits) && parseInt(digits, 16) <= 0x10ffff ? close - i + 1 : undefined;
    }
    return /^[0-9a-fA-F]{4}$/.test(raw.slice(i + 2, i + 6)) ? 6 : undefined;
  }
  if (next === '\r') return raw[i + 2] === '\n' ? 3 : 2; // a line continuation
  if (/[1-9]/.test(next) || (next === '0' && /[0-9]/.test(raw[i + 2] ?? ''))) return undefined; // legacy octal
  return raw.codePointAt(i + 1)! > 0xffff ? 3 : 2; // a needless escape of one code point: `\😀` is 😀
}

/** The value of one escape sequence (a backslash and what `escapeLength` counted). */
function cooked(escape: string): string {
  const c = escape[1]!;
  switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return '\0';
    case 'x': return String.fromCharCode(parseInt(escape.slice(2), 16));
    case 'u': return String.fromCodePoint(parseInt(escape.slice(escape[2] === '{' ? 3 : 2).replace('}', ''), 16));
    case '\r':
    case '\n':
    case '\u2028':
    case '\u2029':
      return ''; // a line continuation: no character
    default:
      return escape.slice(1);
  }
}
