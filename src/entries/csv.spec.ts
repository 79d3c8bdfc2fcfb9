import fc from 'fast-check';
import { csvField } from './entries.service.js';

/** A strict RFC 4180 record parser, written independently of csvField, to prove that fields survive a round trip. */
function parseRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error(`unterminated quoted field in ${JSON.stringify(line)}`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i];
        i++;
      }
      if (i < line.length && line[i] !== ',') throw new Error(`text after a closing quote in ${JSON.stringify(line)}`);
    } else {
      while (i < line.length && line[i] !== ',') {
        if (/["\r\n]/.test(line[i]!)) throw new Error(`bare quote or line break in ${JSON.stringify(line)}`);
        field += line[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

describe('csvField (RFC 4180)', () => {
  it.each([
    ['abc'],
    [''],
    ['1042'],
    ['-1000'],
    ['9223372036854775807'],
    ['USD'],
    ['debit'],
    ['2026-01-02T03:04:05.006Z'],
    ['4b6f9a3e-0c1d-4e2f-8a9b-0c1d2e3f4a5b'],
    ['0'.repeat(64)],
    ['with spaces and ; semicolons\tand tabs'],
    ["it's"],
    ['=SUM(A1)'],
    ['naïve – ünïcode ✓'],
  ])('leaves the plain value %j untouched', (value) => {
    expect(csvField(value)).toBe(value);
  });

  it.each([
    ['a,b', '"a,b"'],
    [',', '","'],
    ['trailing,', '"trailing,"'],
  ])('quotes a value holding a comma: %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it.each([
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['""', '""""""'],
    ['"quoted"', '"""quoted"""'],
    ['a"b,c', '"a""b,c"'],
  ])('quotes a value holding a quote and doubles every quote: %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it.each([
    ['line\nbreak', '"line\nbreak"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\nend', '"crlf\r\nend"'],
    ['\n', '"\n"'],
    ['multi "line"\nwith, everything\r\n', '"multi ""line""\nwith, everything\r\n"'],
  ])('quotes a value holding CR or LF: %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('round-trips any list of fields through a record', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\r', '\n', ';', 'é') });
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), (fields) => {
        expect(parseRecord(fields.map(csvField).join(','))).toEqual(fields);
      }),
      { numRuns: 500 },
    );
  });

  it('quotes exactly the values that need it', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const needs = value.includes(',') || value.includes('"') || value.includes('\r') || value.includes('\n');
        const out = csvField(value);
        if (needs) expect(out).toBe(`"${value.split('"').join('""')}"`);
        else expect(out).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });
});
