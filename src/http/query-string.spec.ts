import { parseQueryString } from './query-string.js';

describe('parseQueryString', () => {
  it('gathers metadata[key]=value pairs into one metadata object and leaves the rest as they are', () => {
    const q = parseQueryString('limit=5&metadata%5Btier%5D=gold&metadata[note]=a+b%26c&currency=USD');
    expect(q).toEqual({ limit: '5', currency: 'USD', metadata: { tier: 'gold', note: 'a b&c' } });
    expect(Object.getPrototypeOf(q.metadata)).toBe(Object.prototype);
  });

  it('keeps a repeated key as an array and a plain metadata as a string, for validation to refuse', () => {
    expect(parseQueryString('metadata[k]=1&metadata[k]=2')).toEqual({ metadata: { k: ['1', '2'] } });
    expect(parseQueryString('metadata=x&metadata[k]=1')).toEqual({ metadata: 'x' });
  });

  it('defines a key named __proto__ as an ordinary key, never as the prototype', () => {
    const q = parseQueryString('metadata[__proto__]=x&__proto__=y');
    expect(Object.getPrototypeOf(q)).toBe(Object.prototype);
    expect(Object.keys(q)).toEqual(['metadata', '__proto__']);
    expect(Object.keys(q.metadata as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(q.metadata)).toBe(Object.prototype);
  });
});
