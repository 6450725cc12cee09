/**
 * literalOffsets (lib/cli/literal-offsets.ts), against the TypeScript parser's own reading of a
 * literal: every character of the value maps to the source characters that wrote it, whatever
 * mix of escapes and line endings the source uses.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ts from 'typescript';
import { literalOffsets } from '../lib/cli/literal-offsets.js';

/** Ways to write one code point in a literal's source; the first is verbatim where allowed. */
function spellings(char: string, template: boolean): string[] {
  const code = char.codePointAt(0)!;
  const hex = code.toString(16);
  const out = [`\\u{${hex}}`];
  if (code <= 0xffff) out.push(`\\u${hex.padStart(4, '0')}`);
  if (code <= 0xff) out.push(`\\x${hex.padStart(2, '0')}`);
  const quote = template ? '`' : '"';
  if (char === '\n') out.push('\\n', ...(template ? ['\n', '\r\n', '\r'] : []));
  else if (char === quote || char === '\\') out.push(`\\${char}`);
  else if (char === '$' && template) out.push('\\$');
  else if (char !== '\r' && char !== '\u2028' && char !== '\u2029' && (template || char !== '\n')) out.push(char, `\\${char}`.replace(/^\\([0-9xubfnrtv])/, '$1'));
  return out.filter((s) => s !== '\\\r' && s !== '\\\n' && !/^\\[1-9]/.test(s) && !/^\\0$/.test(s));
}

describe('literalOffsets', () => {
  for (const template of [true, false]) {
    it(`maps each character of a ${template ? 'template' : 'string'} literal to its source, escapes and line endings included`, () => {
      const char = fc.oneof(fc.constantFrom('\n', '`', '"', '\\', '$', '{', 'a', '\u3000', '😀', '\t', '0'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(char, fc.nat()), { maxLength: 30 }).map((parts) => parts.map(([c, n]) => ({ chars: [...c], pick: n }))),
          fc.boolean(),
          (parts, continuation) => {
            let raw = '';
            const starts: number[] = [];
            const value: string[] = [];
            for (const { chars, pick } of parts) {
              for (const c of chars) {
                let spelling = spellings(c, template)[pick % spellings(c, template).length]!;
                // A verbatim CR then a verbatim LF is one CRLF line ending: one character, not two.
                if (raw.endsWith('\r') && spelling.startsWith('\n')) spelling = '\\n';
                // Verbatim, each UTF-16 unit is where it is; an escape stands for all of its units.
                for (let k = 0; k < c.length; k++) starts.push(raw.length + (spelling === c ? k : 0));
                value.push(c);
                raw += spelling;
              }
              if (continuation) raw += '\\\r\n'; // a line continuation: no character
            }
            const quote = template ? '`' : '"';
            const file = ts.createSourceFile('x.ts', `x = ${quote}${raw}${quote};`, ts.ScriptTarget.ES2022);
            const literal = ((file.statements[0] as ts.ExpressionStatement).expression as ts.BinaryExpression).right as ts.StringLiteral;
            assert.equal(literal.text, value.join(''), 'the test wrote the literal it meant to');
            const offsets = literalOffsets(raw, literal.text, template);
            assert.ok(offsets, raw);
            assert.deepEqual(offsets.slice(0, -1), starts);
            assert.equal(offsets.at(-1), raw.length);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('gives undefined for an escape it does not know (a legacy octal one), so the caller says the place is not exact', () => {
    assert.equal(literalOffsets('a\\101b', 'aAb', false), undefined);
  });
});
