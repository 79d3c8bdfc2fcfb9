// Jest before Node 24.9 cannot require() an ES module, which Node 20.19+ itself can. Some CommonJS packages
// (@fastify/static, light-my-request…) require ESM-only ones, so when Jest loads an ES module through
// require() this compiles it to CommonJS. Modules Jest loads as ESM pass through untouched.
const ts = require('typescript');

const ESM_SYNTAX = /^\s*(import|export)\s/m;

module.exports = {
  process(source, filename, options) {
    if (options.supportsStaticESM || !ESM_SYNTAX.test(source)) return { code: source };
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true },
    });
    return { code: out.outputText };
  },
  getCacheKey(source, filename, options) {
    return `${filename}:${options.supportsStaticESM}:${require('crypto').createHash('sha1').update(source).digest('hex')}`;
  },
};
