import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// The core must stay framework-free and keep money out of JS numbers; guard it mechanically.
const dir = join(process.cwd(), 'src', 'core');
const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));

describe('core purity', () => {
  it('finds the core sources', () => {
    expect(sources).toEqual(
      expect.arrayContaining(['balances.ts', 'errors.ts', 'hash-chain.ts', 'money.ts', 'transfer-rules.ts']),
    );
  });

  it.each(sources)('%s imports only node:crypto and relative .js modules', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'|\brequire\s*\(/g)].map(
      (m) => m[1] ?? m[2] ?? 'require(',
    );
    for (const s of specifiers) expect(s).toMatch(/^(node:crypto|\.\/[a-z-]+\.js)$/);
  });

  it.each(sources)('%s never turns values into JS numbers nor uses any', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    expect(text).not.toMatch(/\bNumber\s*\(|\bparseInt\b|\bparseFloat\b|[:<|]\s*any\b|\bas\s+any\b/);
  });
});
