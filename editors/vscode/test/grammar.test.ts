// The TextMate grammar, tested without VS Code: vscode-textmate (the
// tokenizer VS Code itself uses) with the Oniguruma regex engine compiled to
// WebAssembly. Run with `npm test` after `npm run compile`.
//
// Checks: the grammar loads and every regex compiles; every keyword of the
// lexer (compiler/src/syntax/lexer.rs) and of grammar/canon.pest gets a
// keyword scope; strings, escapes, interpolations, comments, numbers, money,
// dates, types and decision tables get the scopes below; and every `.canon`
// file under examples/ tokenizes with no invalid token, no lost keyword and no
// unscoped number.

import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vsctm from "vscode-textmate";
import * as oniguruma from "vscode-oniguruma";

const root = path.resolve(__dirname, "..", "..");
const repo = path.resolve(root, "..", "..");
const grammarPath = path.join(root, "syntaxes", "canon.tmLanguage.json");

interface Token {
  line: number;
  start: number;
  text: string;
  scopes: string[];
}

let grammar: vsctm.IGrammar;
const logged: string[] = [];

before(async () => {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM({ data: wasm });
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) =>
      scopeName === "source.canon"
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
  const g = await registry.loadGrammar("source.canon");
  assert.ok(g, "the grammar source.canon loads");
  grammar = g;
  // vscode-textmate reports endless loops and bad regexes on the console.
  for (const level of ["log", "warn", "error"] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
      original(...args);
    };
  }
});

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let stack = vsctm.INITIAL;
  src.split(/\r?\n/).forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack, 2000);
    assert.ok(!r.stoppedEarly, `tokenizing line ${i + 1} took too long: ${line}`);
    for (const t of r.tokens) {
      out.push({ line: i, start: t.startIndex, text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    stack = r.ruleStack;
  });
  assert.deepEqual(logged, [], "vscode-textmate logged nothing");
  return out;
}

/** The scopes of the token where the `nth` occurrence of `needle` in `src` starts. */
function scopesAt(src: string, needle: string, nth = 0): string[] {
  let offset = -1;
  for (let k = 0; k <= nth; k++) {
    offset = src.indexOf(needle, offset + 1);
    assert.ok(offset >= 0, `"${needle}" (occurrence ${nth}) is in the snippet`);
  }
  const before = src.slice(0, offset).split("\n");
  const line = before.length - 1;
  const col = before[before.length - 1].length;
  const tok = tokenize(src).find((t) => t.line === line && t.start <= col && col < t.start + t.text.length);
  assert.ok(tok, `a token at "${needle}"`);
  return tok.scopes;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((s) => s === prefix || s.startsWith(prefix + "."));
}

function expectScope(src: string, needle: string, prefix: string, nth = 0): void {
  const scopes = scopesAt(src, needle, nth);
  assert.ok(
    hasScope(scopes, prefix),
    `"${needle}" in ${JSON.stringify(src)} has a ${prefix} scope; got ${scopes.join(" ")}`,
  );
}

function expectNoScope(src: string, needle: string, prefix: string, nth = 0): void {
  const scopes = scopesAt(src, needle, nth);
  assert.ok(!hasScope(scopes, prefix), `"${needle}" in ${JSON.stringify(src)} has no ${prefix} scope; got ${scopes.join(" ")}`);
}

const isKeywordScope = (scopes: string[]) => hasScope(scopes, "keyword") || hasScope(scopes, "constant.language");

/** The keywords of the language: the lexer's word tokens and the pest grammar's kw_ rules. */
function languageKeywords(): { all: string[]; contextual: string[] } {
  const lexer = fs.readFileSync(path.join(repo, "compiler", "src", "syntax", "lexer.rs"), "utf8");
  const pest = fs.readFileSync(path.join(repo, "grammar", "canon.pest"), "utf8");
  const fromLexer = [...lexer.matchAll(/#\[token\("([a-z]+)"\)\]/g)].map((m) => m[1]);
  const fromPest = [...pest.matchAll(/^kw_([a-z]+)\s*=/gm)].map((m) => m[1]);
  assert.ok(fromLexer.length >= 30, `found the lexer's keywords (${fromLexer.length})`);
  assert.ok(fromPest.length >= 30, `found the pest keywords (${fromPest.length})`);
  const all = [...new Set([...fromLexer, ...fromPest])].sort();
  // Contextual keywords (LANGUAGE.md §2): keywords only where they begin a
  // declaration, statement or clause (`expect no emit`, `given file`,
  // `state name:`, `put`, `where` ...); identifiers elsewhere.
  const contextual = fromPest.filter((k) => !fromLexer.includes(k));
  return { all, contextual };
}

test("the grammar is well formed: every include resolves, every regex compiles", () => {
  const raw = JSON.parse(fs.readFileSync(grammarPath, "utf8"));
  assert.equal(raw.scopeName, "source.canon");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  assert.equal(pkg.contributes.grammars[0].scopeName, raw.scopeName);
  assert.equal(pkg.contributes.languages[0].id, "canon");
  assert.deepEqual(pkg.contributes.languages[0].extensions, [".canon"]);
  const regexes: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node !== null && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (["match", "begin", "end", "while"].includes(key) && typeof value === "string") {
          regexes.push(value);
        } else if (key === "include" && typeof value === "string" && value.startsWith("#")) {
          assert.ok(value.slice(1) in raw.repository, `include ${value} names a repository rule`);
        }
        walk(value);
      }
    }
  };
  walk(raw);
  assert.ok(regexes.length > 50, `the grammar has its regexes (${regexes.length})`);
  for (const re of regexes) {
    assert.doesNotThrow(() => new oniguruma.OnigScanner([re.replace(/\\G/g, "")]), `regex compiles: ${re}`);
  }
  assert.throws(() => new oniguruma.OnigScanner(["(unclosed"]), "a bad regex is detected");
});

test("every keyword of the language gets a keyword scope", () => {
  const { all, contextual } = languageKeywords();
  assert.deepEqual(contextual.sort(), [
    "age", "by", "calendar", "default", "delete", "effective", "exactly", "file", "metric", "no", "of", "put", "state", "times", "to",
    "update", "where",
  ]);
  for (const kw of all) {
    if (contextual.includes(kw)) continue;
    for (const src of [`x ${kw} y`, `${kw}`, `  ${kw}(a)`]) {
      const scopes = scopesAt(src, kw);
      assert.ok(isKeywordScope(scopes), `keyword "${kw}" in ${JSON.stringify(src)}: ${scopes.join(" ")}`);
    }
    // Not inside a longer identifier.
    expectNoScope(`x ${kw}_y z`, `${kw}_y`, "keyword");
    expectNoScope(`x my${kw} z`, `my${kw}`, "keyword");
  }
  expectScope(`expect no emit payroll`, "no", "keyword.other.no");
  expectScope(`expect no emit payroll`, "payroll", "variable.other.destination");
  expectScope(`given file "fixtures/a.json"`, "file", "keyword.other.file");
  expectNoScope(`let file = no`, "file", "keyword");
  expectNoScope(`let file = no`, "no", "keyword");
  expectScope(`true`, "true", "constant.language.boolean");
  expectScope(`none`, "none", "constant.language.none");
  expectScope(`enum Role { A }`, "Role", "entity.name.type.enum");
  expectScope(`fn f(x: Int) -> Int = x`, "f(", "entity.name.function");
  expectScope(`fn f(x: Int) -> Int = x`, "x", "variable.parameter");
  expectScope(`on TimesheetApproved as t {`, "t {", "variable.parameter");
  expectScope(`  check x else reject HOURS_OUT_OF_RANGE "m"`, "HOURS_OUT_OF_RANGE", "constant.other.rejection-code");
  expectScope(`  emit erp_posting JournalLine {`, "erp_posting", "variable.other.destination");
  expectScope(`  expect accepted`, "accepted", "constant.language.status");
  expectScope(`decision d(a: Int) -> Int\n  hit unique`, "unique", "constant.language.hit-policy");
});

test("contextual keywords: keywords where they begin a declaration, statement or clause", () => {
  // State and metric declarations (LANGUAGE.md §4.5, §4.6).
  const decls = [
    "/// Where each timesheet is.",
    "state timesheets: TimesheetState key timesheet_id",
    "metric unposted = sum(timesheets, s => s.hours - s.posted)",
    "  where s.status != Reversed",
    "  by entity, currency",
    "  age approved_at > 48 hours",
    "metric open = count(timesheets, s => s.open) where s.hours > 0 by entity",
    "fn after(by: Int, age: Int) -> Int = by + age",
  ].join("\n");
  expectScope(decls, "state", "keyword.declaration.state");
  expectScope(decls, "timesheets:", "entity.name.variable.state");
  expectScope(decls, "key", "keyword.other.key");
  expectScope(decls, "metric", "keyword.declaration.metric");
  expectScope(decls, "unposted", "entity.name.variable.metric");
  expectScope(decls, "sum", "support.function.builtin");
  expectScope(decls, "where", "keyword.other.where");
  expectScope(decls, "by", "keyword.other.by");
  expectScope(decls, "entity", "variable.other.property");
  expectScope(decls, "currency", "variable.other.property");
  expectScope(decls, "age", "keyword.other.age");
  expectScope(decls, "approved_at", "variable.other.property");
  expectScope(decls, "48", "constant.numeric.integer");
  expectScope(decls, "hours", "keyword.other.unit", 1);
  expectScope(decls, "metric", "keyword.declaration.metric", 1);
  expectScope(decls, "where", "keyword.other.where", 1);
  expectScope(decls, "by", "keyword.other.by", 1);
  // After the metric, `by` and `age` are names again.
  expectScope(decls, "after", "entity.name.function");
  expectNoScope(decls, "by: Int", "keyword");
  expectNoScope(decls, "age: Int", "keyword");
  expectNoScope(decls, "by + age", "keyword");
  expectNoScope(decls, "age", "keyword", 2);
  // State statements (§8.1) and tests with state (§9).
  const handler = [
    "on Approved as a {",
    "  let s = timesheets[a.id]",
    "  put timesheets TimesheetState { id: a.id, state: Open }",
    "  update timesheets[a.id] { status: Approved }",
    "  if s == none { delete timesheets[a.id] }",
    "  let put = update + delete",
    "}",
    "test \"t\" {",
    "  with timesheets [TimesheetState { id: \"T\" }]",
    "  expect state timesheets[\"T\"] TimesheetState { status: Approved, .. }",
    "  expect no state timesheets[\"U\"]",
    "}",
  ].join("\n");
  expectScope(handler, "put", "keyword.control.put");
  expectScope(handler, "timesheets TimesheetState", "variable.other.state");
  expectScope(handler, "update", "keyword.control.update");
  expectScope(handler, "timesheets[a.id] {", "variable.other.state");
  expectScope(handler, "delete", "keyword.control.delete");
  expectScope(handler, "state: Open", "variable.other.property");
  expectNoScope(handler, "state: Open", "keyword");
  expectNoScope(handler, "put =", "keyword");
  expectNoScope(handler, "update +", "keyword");
  expectNoScope(handler, "delete\n", "keyword");
  expectScope(handler, "with", "keyword.other.with");
  expectScope(handler, "state timesheets[\"T", "keyword.other.state");
  expectScope(handler, "no state", "keyword.other.no");
  expectScope(handler, "state timesheets[\"U", "keyword.other.state");
  expectScope(handler, "timesheets[\"U", "variable.other.state");
  // Not keywords outside their places.
  for (const w of ["state", "metric", "put", "update", "delete", "where", "by", "age"]) {
    expectNoScope(`let x = ${w} + 1`, w, "keyword");
    expectNoScope(`fn f(r: R) -> Int = r.${w}`, w, "keyword");
  }
});

test("strings: escapes, interpolation, unterminated", () => {
  const src = `let m = "a \\" b \\\\ \\n \\t \\{ \\} {t.hours + f("}")} h" // after`;
  expectScope(src, `"a`, "string.quoted.double");
  expectScope(src, `\\"`, "constant.character.escape");
  expectScope(src, `\\\\`, "constant.character.escape");
  expectScope(src, `\\n`, "constant.character.escape");
  expectScope(src, `\\t`, "constant.character.escape");
  expectScope(src, `\\{`, "constant.character.escape");
  expectScope(src, `\\}`, "constant.character.escape");
  expectScope(src, "hours", "meta.interpolation");
  expectScope(src, "hours", "variable.other.property");
  expectScope(src, `"}"`, "string.quoted.double");
  expectScope(src, " h", "string.quoted.double");
  expectScope(src, "// after", "comment.line.double-slash");
  expectNoScope(src, "// after", "string");
  expectScope(`"a {r { b: 1 }.b} c"`, "b:", "meta.interpolation");
  expectScope(`"a {r { b: 1 }.b} c"`, " c", "string.quoted.double");
  expectNoScope(`"a {r { b: 1 }.b} c"`, " c", "meta.interpolation");
  expectScope(`"bad \\q escape"`, "\\q", "invalid.illegal");
  // A string does not run past its line.
  expectNoScope(`let a = "open\nlet b = 1`, "let b", "string");
  expectScope(`let a = "open\nlet b = 1`, "let b", "keyword.other.let");
  // `//` inside a string is not a comment.
  expectNoScope(`"http://example"`, "//", "comment");
});

test("comments and doc comments", () => {
  expectScope(`// a comment with let and 12.50 EUR`, "let", "comment.line.double-slash");
  expectScope(`x = 1 // trailing`, "trailing", "comment.line.double-slash");
  expectScope(`/// Seniority used for \`rate\` cards.`, "Seniority", "comment.line.documentation");
  expectScope(`/// Seniority used for \`rate\` cards.`, "`rate`", "markup.inline.raw");
  expectNoScope(`/// doc`, "doc", "comment.line.double-slash");
  expectScope(`//// four`, "four", "comment.line.documentation");
});

test("numbers, money and temporal literals", () => {
  expectScope(`let a = 42`, "42", "constant.numeric.integer");
  expectScope(`let a = 1_000`, "1_000", "constant.numeric.integer");
  expectScope(`let a = 12.50`, "12.50", "constant.numeric.decimal");
  expectScope(`let a = 0.075 * b`, "0.075", "constant.numeric.decimal");
  expectScope(`let a = 125.50 USD`, "125.50", "constant.numeric.money.amount");
  expectScope(`let a = 125.50 USD`, "USD", "constant.numeric.money.currency");
  expectScope(`let a = 125.50 USD`, "125.50", "meta.money");
  expectScope(`let a = 100 EUR + b`, "100", "constant.numeric.money.amount");
  expectScope(`let a = 100 EUR + b`, "EUR", "constant.numeric.money.currency");
  expectScope(`let a = 100\tGBP`, "GBP", "constant.numeric.money.currency");
  // Not money: a lower-case or longer code, or a code glued to the number.
  expectNoScope(`let a = 100 EURO`, "EURO", "constant.numeric");
  expectNoScope(`let a = 100 Eur`, "Eur", "constant.numeric");
  expectScope(`let a = 100 EURO`, "100", "constant.numeric.integer");
  expectNoScope(`let x1 = 2`, "1", "constant.numeric");
  // Ranges in decision cells: ints and `..`.
  expectScope(`| [1..5) || 2 |`, "1", "constant.numeric.integer");
  expectScope(`| [1..5) || 2 |`, "..", "keyword.operator.range");
  expectScope(`| [1..5) || 2 |`, "5", "constant.numeric.integer");
  expectScope(`| [1.5..2.5] || 2 |`, "2.5", "constant.numeric.decimal");
  expectScope(`let d = @"2026-11-25"`, "2026", "constant.other.date");
  expectScope(`let d = @"2026-11-25T09:30:00Z"`, "09:30", "constant.other.timestamp");
  expectScope(`let d = @"2026-11-25T09:30:00+02:00"`, "+02", "constant.other.timestamp");
  expectScope(`let d = @"yesterday"`, "yesterday", "invalid.illegal");
});

test("types and operators", () => {
  const src = `record R { a: Decimal, b: Text? as "bee", c: List<Money>, d: Project }`;
  expectScope(src, "R ", "entity.name.type.record");
  expectScope(src, "a:", "variable.other.property");
  expectScope(src, "Decimal", "support.type.primitive");
  expectScope(src, "?", "keyword.operator.optional");
  expectScope(src, "as", "keyword.other.as");
  expectScope(src, "List", "support.type.builtin");
  expectScope(src, "Money", "support.type.primitive");
  expectScope(src, "Project", "entity.name.type");
  const e = `let x = fx[a, b]?.rate ?? 0 <= round(y, 2, HalfUp) and ProjectStatus.Open != t.s`;
  expectScope(e, "fx", "variable.other.table");
  expectScope(e, "?.", "punctuation.accessor");
  expectScope(e, "rate", "variable.other.property");
  expectScope(e, "??", "keyword.operator.coalesce");
  expectScope(e, "<=", "keyword.operator.comparison");
  expectScope(e, "round", "support.function.builtin");
  expectScope(e, "ProjectStatus", "entity.name.type");
  expectScope(e, "Open", "variable.other.enummember");
  expectScope(e, "!=", "keyword.operator.comparison");
  expectScope(`sum(xs, x => x.amount)`, "x =>", "variable.parameter");
  expectScope(`sum(xs, x => x.amount)`, "=>", "keyword.operator.arrow");
  expectScope(`meta.correlation_id ?? meta.id`, "meta", "variable.language.meta");
  expectScope(`match k { _ => 1 }`, "_", "variable.language.wildcard");
  expectScope(`let y = account_for(b)`, "account_for", "entity.name.function.call");
  expectScope(`let y = Currency.EUR`, "Currency", "support.type.primitive");
  expectScope(`let y = Currency.EUR`, "EUR", "variable.other.enummember");
});

test("decision tables", () => {
  const src = [
    "decision bill_rate(role: Role, region: Region) -> Money",
    "  hit first",
    "  | role              | region    || rate       |",
    "  | Partner           | -         || 450.00 USD |",
    "  | Senior, Principal | not EU    || 230.00 EUR |",
    "  // a comment between rows",
    "  | -                 | [1..4)    || base * 2   |",
    "",
    "fn after() -> Int = 1",
  ].join("\n");
  expectScope(src, "bill_rate", "entity.name.function");
  expectScope(src, "role", "variable.parameter", 1); // the header
  expectScope(src, "region", "variable.parameter", 1);
  expectScope(src, "rate ", "variable.other.property");
  expectScope(src, "||", "punctuation.separator.decision.outputs");
  expectScope(src, "450.00", "constant.numeric.money.amount");
  expectScope(src, "- ", "constant.language.any");
  expectScope(src, "not", "keyword.operator.logical");
  expectScope(src, "Partner", "meta.decision.row");
  expectScope(src, "a comment", "comment.line.double-slash");
  expectScope(src, "[", "punctuation.definition.range.begin");
  expectScope(src, ")    ||", "punctuation.definition.range.end");
  expectScope(src, "base", "meta.decision.row");
  expectScope(src, "after", "entity.name.function");
  expectNoScope(src, "after", "meta.decision");
  // A comment between `hit` and the header keeps the header a header.
  const commented = ["decision d(a: Int) -> Int", "  hit first", "  // header next", "  | a || out |", "  | - || 1   |"].join("\n");
  expectScope(commented, "a ||", "variable.parameter");
  expectScope(commented, "out", "variable.other.property");
  expectScope(commented, "1", "constant.numeric.integer");
});

function canonFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return canonFiles(p);
    return e.name.endsWith(".canon") ? [p] : [];
  });
}

test("every example tokenizes cleanly", () => {
  const files = canonFiles(path.join(repo, "examples"));
  assert.ok(files.length >= 5, `found the examples' .canon files (${files.length})`);
  const { all, contextual } = languageKeywords();
  const keywords = new Set(all.filter((k) => !contextual.includes(k)));
  let checked = 0;
  for (const file of files) {
    const rel = path.relative(repo, file);
    const src = fs.readFileSync(file, "utf8");
    const tokens = tokenize(src);
    const lines = src.split(/\r?\n/);
    let sawComment = false;
    for (const t of tokens) {
      const where = `${rel}:${t.line + 1}:${t.start + 1} ${JSON.stringify(t.text)} (${t.scopes.join(" ")})`;
      assert.ok(!t.scopes.some((s) => s.startsWith("invalid")), `no invalid token: ${where}`);
      const inText = hasScope(t.scopes, "string") || hasScope(t.scopes, "comment");
      if (hasScope(t.scopes, "comment")) sawComment = true;
      if (inText && !hasScope(t.scopes, "meta.interpolation")) continue;
      // Each word of the token that is a keyword must be scoped as one.
      for (const m of t.text.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) {
        if (keywords.has(m[0])) {
          assert.ok(isKeywordScope(t.scopes), `keyword scope for "${m[0]}": ${where}`);
          checked++;
        }
      }
      if (/^\s*\d/.test(t.text) && !hasScope(t.scopes, "constant.other")) {
        assert.ok(hasScope(t.scopes, "constant.numeric"), `numeric scope: ${where}`);
      }
    }
    // Every `//` line is a comment, every money literal outside comments is money.
    lines.forEach((line, i) => {
      const lineTokens = tokens.filter((t) => t.line === i);
      if (/^\s*\/\//.test(line)) {
        assert.ok(lineTokens.every((t) => t.text.trim() === "" || hasScope(t.scopes, "comment")), `${rel}:${i + 1} is a comment`);
      }
      for (const m of line.matchAll(/(?<![\w.])\d[\d_]*(?:\.\d+)?[ \t]+([A-Z]{3})(?!\w)/g)) {
        const col = (m.index ?? 0) + m[0].length - 3;
        const tok = lineTokens.find((t) => t.start <= col && col < t.start + t.text.length);
        if (tok && (hasScope(tok.scopes, "comment") || hasScope(tok.scopes, "string"))) continue;
        assert.ok(tok && hasScope(tok.scopes, "constant.numeric.money.currency"), `${rel}:${i + 1} money ${m[0]}`);
      }
    });
    assert.ok(sawComment, `${rel} has comments`);
  }
  assert.ok(checked > 100, `checked the keywords of the examples (${checked})`);
});
