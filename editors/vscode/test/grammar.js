// Tokenises samples with the TextMate engine VS Code uses (vscode-textmate
// on the Oniguruma regex library) and checks the scopes of key tokens.
// Run with `npm test` after `npm install`. The Rust test
// `tests/tests/editor.rs` checks the same files' structure without Node;
// CI runs only that one.

'use strict';

const fs = require('fs');
const path = require('path');
const assert = require('assert');
const oniguruma = require('vscode-oniguruma');
const textmate = require('vscode-textmate');

const root = path.join(__dirname, '..');
const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));

async function grammar() {
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.orch') return null;
      const file = path.join(root, 'syntaxes', 'orch.tmLanguage.json');
      return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
  });
  return registry.loadGrammar('source.orch');
}

/** Every token of `text` as [text, scopes], line by line. */
function tokenize(g, text) {
  let state = textmate.INITIAL;
  const out = [];
  for (const line of text.split('\n')) {
    const result = g.tokenizeLine(line, state);
    for (const token of result.tokens) {
      out.push([line.slice(token.startIndex, token.endIndex), token.scopes]);
    }
    state = result.ruleStack;
  }
  return out;
}

/** Asserts that the `nth` token whose text is `text` has a scope starting
 * with `scope` (and, with `not`, that it has none). */
function expect(tokens, text, scope, { nth = 0, not = false } = {}) {
  const found = tokens.filter(([t]) => t === text);
  assert.ok(found.length > nth, `no token ${JSON.stringify(text)} (#${nth}) in ${JSON.stringify(tokens.map(([t]) => t))}`);
  const scopes = found[nth][1];
  const has = scopes.some((s) => s.startsWith(scope));
  assert.ok(has !== not, `${JSON.stringify(text)} #${nth}: ${not ? 'unexpected' : 'no'} ${scope} in ${scopes.join(' ')}`);
}

const cases = [
  ['keywords, declarations and types after `:`', `param env: "dev" | "prod" = "dev"
param ports: map<int> = { api = 8080 }
param server: { name: string, port?: int }
let root = "/srv"
output n: list<string> = []
type Id = secret<string>
resource site: fs.file { path = root }
module web: "./web.orch" { name = "x" }
import "./common.orch" as common`, (t) => {
    expect(t, 'param', 'storage.type.orch');
    expect(t, 'env', 'entity.name.variable.orch');
    expect(t, 'int', 'support.type.primitive.orch');
    expect(t, 'map', 'support.type.orch');
    expect(t, 'string', 'support.type.primitive.orch');
    expect(t, 'port', 'variable.other.property.orch');
    expect(t, '?', 'keyword.operator.optional.orch');
    expect(t, 'list', 'support.type.orch');
    expect(t, 'Id', 'entity.name.type.orch');
    expect(t, 'secret', 'support.type.orch');
    expect(t, 'fs.file', 'entity.name.type.kind.orch');
    expect(t, 'site', 'entity.name.variable.orch');
    expect(t, 'web', 'entity.name.variable.orch');
    expect(t, 'common', 'entity.name.namespace.orch');
    expect(t, 'api', 'variable.other.property.orch');
    expect(t, '8080', 'constant.numeric.integer.decimal.orch');
  }],
  ['control flow, constants and members', `for k, v in items key v.id {
  if v.on && true { }
}
output o: string = a?.b ?? "none"
warn x == none, "x"
let t = c ? 1 : 2
let r = 0..=3`, (t) => {
    expect(t, 'for', 'keyword.control.loop.orch');
    expect(t, 'k', 'variable.other.loop.orch');
    expect(t, 'key', 'keyword.control.loop.orch');
    expect(t, 'if', 'keyword.control.conditional.orch');
    expect(t, 'true', 'constant.language.boolean.orch');
    expect(t, 'none', 'constant.language.none.orch', { nth: 1 });
    expect(t, '??', 'keyword.operator.coalesce.orch');
    expect(t, 'b', 'variable.other.property.orch');
    expect(t, 'warn', 'keyword.other.assert.orch');
    expect(t, '..=', 'keyword.operator.range.orch');
    expect(t, ':', 'keyword.operator.ternary.orch', { nth: 1 });
  }],
  ['keywords as field names', `resource r: x.y {
  type = "a"
  data = { if = 1 }
}`, (t) => {
    expect(t, 'type', 'variable.other.property.orch');
    expect(t, 'type', 'storage.type.orch', { not: true });
    expect(t, 'data', 'variable.other.property.orch');
    expect(t, 'if', 'variable.other.property.orch');
  }],
  ['decorators', `@depends_on([a])
@timeout(30s) @retry(attempts = 3, backoff = 1500ms)
resource r: exec.run { create = "true" }`, (t) => {
    expect(t, 'depends_on', 'entity.name.function.decorator.orch');
    expect(t, '@', 'punctuation.definition.decorator.orch');
    expect(t, 'timeout', 'entity.name.function.decorator.orch');
    expect(t, 'attempts', 'variable.other.property.orch');
  }],
  ['numbers and durations', 'let n = [0x1F, 0o755, 0b1010, 1_000, 1.5e-3, 2e3, 30s, 500ms, 5min, 0..3]', (t) => {
    expect(t, '0x1F', 'constant.numeric.integer.hexadecimal.orch');
    expect(t, '0o755', 'constant.numeric.integer.octal.orch');
    expect(t, '0b1010', 'constant.numeric.integer.binary.orch');
    expect(t, '1_000', 'constant.numeric.integer.decimal.orch');
    expect(t, '1.5e-3', 'constant.numeric.float.orch');
    expect(t, '2e3', 'constant.numeric.float.orch');
    expect(t, '30', 'constant.numeric.duration.orch');
    expect(t, 's', 'keyword.other.unit.orch');
    expect(t, 'ms', 'keyword.other.unit.orch');
    expect(t, '5min', 'invalid.illegal.numeric.orch');
    expect(t, '0', 'constant.numeric.integer.decimal.orch', { nth: 0 });
    expect(t, '..', 'keyword.operator.range.orch');
  }],
  ['strings, escapes and nested interpolation', 'let s = "a\\n\\u{1F600}\\q ${x + "in ${y[{ k = 1 }.k]} }"} z"', (t) => {
    expect(t, '\\n', 'constant.character.escape.orch');
    expect(t, '\\u{1F600}', 'constant.character.escape.orch');
    expect(t, '\\q', 'invalid.illegal.escape.orch');
    expect(t, '${', 'punctuation.section.interpolation.begin.orch');
    expect(t, '${', 'punctuation.section.interpolation.begin.orch', { nth: 1 });
    expect(t, 'x', 'meta.interpolation.orch');
    expect(t, 'y', 'meta.interpolation.orch');
    // Two interpolations deep, inside an object literal.
    const k = t.find(([text]) => text === 'k');
    assert.strictEqual(k[1].filter((s) => s === 'meta.interpolation.orch').length, 2, k[1].join(' '));
    // The object's `}` does not close the interpolation; the string goes on.
    expect(t, ' z', 'string.quoted.double.orch');
    expect(t, ' z', 'meta.interpolation.orch', { not: true });
  }],
  ['a string ends at the end of its line', 'let s = "open\nlet t = 1', (t) => {
    expect(t, 'let', 'storage.type.orch', { nth: 1 });
    expect(t, 'let', 'string', { nth: 1, not: true });
  }],
  ['multi-line strings', 'let m = """\n  a "quoted" ${b} \\t\n  """\nlet after = 1', (t) => {
    expect(t, '"""', 'string.quoted.triple.orch');
    expect(t, '  a "quoted" ', 'string.quoted.triple.orch');
    expect(t, 'b', 'meta.interpolation.orch');
    expect(t, '\\t', 'constant.character.escape.orch');
    expect(t, 'after', 'entity.name.variable.orch');
    expect(t, 'after', 'string', { not: true });
  }],
  ['comments', '/// Doc.\n//// Not doc.\n// Line.\n/* a /* nested */ still */ let x = 1', (t) => {
    expect(t, ' Doc.', 'comment.line.documentation.orch');
    expect(t, '// Not doc.', 'comment.line.double-slash.orch');
    expect(t, '// Not doc.', 'comment.line.documentation.orch', { not: true });
    expect(t, ' Line.', 'comment.line.double-slash.orch');
    expect(t, ' still ', 'comment.block.orch');
    expect(t, 'x', 'entity.name.variable.orch');
  }],
];

(async () => {
  const g = await grammar();
  let failed = 0;
  for (const [name, text, check] of cases) {
    try {
      check(tokenize(g, text));
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}: ${error.message}`);
    }
  }
  // Every example and corpus file tokenises without an `invalid` scope
  // outside the cases made to have one.
  const files = ['examples', 'tests/data/check/ok', 'tests/data/parse/ok']
    .map((dir) => path.join(root, '..', '..', dir))
    .filter((dir) => fs.existsSync(dir))
    .flatMap(function walk(dir) {
      return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return walk(full);
        return entry.name.endsWith('.orch') ? [full] : [];
      });
    });
  for (const file of files) {
    const tokens = tokenize(g, fs.readFileSync(file, 'utf8'));
    const bad = tokens.filter(([, scopes]) => scopes.some((s) => s.startsWith('invalid')));
    if (bad.length > 0) {
      failed += 1;
      console.log(`FAIL ${path.relative(root, file)}: ${JSON.stringify(bad.slice(0, 3))}`);
    }
  }
  console.log(`${cases.length} cases, ${files.length} files, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
