import { inspectInput } from './body-guard.js';

describe('inspectInput', () => {
  it('passes an ordinary body', () => {
    expect(
      inspectInput({ postings: [{ amount: '1' }, { amount: '2' }], metadata: { a: 'b' } }, 'body'),
    ).toBeUndefined();
  });

  it('names the refused field by its path', () => {
    const body = { postings: [{ amount: '1' }, { note: 'a\u0000b' }] };
    expect(inspectInput(body, 'body')).toEqual({
      field: 'body.postings.1.note',
      message: 'must not contain NUL characters',
    });
    expect(inspectInput({ a: { constructor: 1 } }, 'query')).toEqual({
      field: 'query.a.constructor',
      message: 'is not an accepted field',
    });
    expect(inspectInput({ ['k\u0000']: 1 }, 'body')).toEqual({
      field: 'body.k\u0000',
      message: 'field names must not contain NUL characters',
    });
    const long = 'x'.repeat(100);
    expect(inspectInput({ [long]: 'a\u0000' }, 'body')?.field).toBe(`body.${'x'.repeat(64)}…`);
  });

  it('bounds depth and array length', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(inspectInput(deep, 'body')).toEqual({
      field: `body${'.d'.repeat(32)}`,
      message: 'nesting deeper than 32 levels',
    });
    expect(inspectInput({ list: new Array(1001).fill(0) }, 'body')).toEqual({
      field: 'body.list',
      message: 'arrays hold at most 1000 items',
    });
  });
});
