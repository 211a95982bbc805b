// xmldom 0.9 builds the regular expression that checks an end tag's name anew for every end tag it
// parses (lib/sax.js: `g.reg('^', g.QName_group, g.S_OPT, '$')`): joining the sources of its large
// Unicode character classes and looking the result up in V8's cache cost about a quarter of a
// request's parse (2 % of the service's CPU per send). The arguments are always the same grammar
// constants, so the expression is built once per set of arguments here. Only the construction is
// cached: the same source and flags give an equivalent RegExp, and these have no `g` or `y` flag,
// so a shared one keeps no state between uses. Should a later xmldom drop `reg`, nothing is
// replaced and parsing is merely slower (test/wssecurity/xmldomRegexCache.test.ts then fails).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grammar = require('@xmldom/xmldom/lib/grammar.js') as { reg?: (...parts: (string | RegExp)[]) => RegExp };

/** Enough for the handful of distinct calls the parser makes; other calls are passed through uncached. */
const MAX_ENTRIES = 32;
/** Marks the replacement (tests look for it; a second load of this module keeps the first). */
const CACHED = Symbol.for('epost.xmldomRegexCache');

interface CachedReg {
  (this: unknown, ...parts: (string | RegExp)[]): RegExp;
  [CACHED]?: true;
}

const original = grammar.reg as CachedReg | undefined;
if (typeof original === 'function' && !original[CACHED]) {
  const entries: { parts: (string | RegExp)[]; expression: RegExp }[] = [];
  const cachedReg: CachedReg = function (this: unknown, ...parts) {
    search: for (const entry of entries) {
      if (entry.parts.length !== parts.length) continue;
      for (let i = 0; i < parts.length; i++) if (entry.parts[i] !== parts[i]) continue search;
      return entry.expression;
    }
    const expression = original.apply(this, parts);
    if (entries.length < MAX_ENTRIES && !expression.global && !expression.sticky) entries.push({ parts, expression });
    return expression;
  };
  cachedReg[CACHED] = true;
  grammar.reg = cachedReg;
}
