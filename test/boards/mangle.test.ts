// The private-member convention behind property mangling (rollup.config.mjs PRIVATE_MEMBERS,
// docs/design.md "Private members"): terser renames `_x` members in the board bundles. It only
// works if every `_x` is renamed everywhere (the bundles), private members carry the prefix
// (else nothing is gained), and no `_x` is written as a string (it would not be renamed with
// its member, or would keep the member's name in the whole bundle).

import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { parse } from "acorn";
import { simple } from "acorn-walk";
import { ensureBundle } from "../../toolchain/bundle.js";
import { boardNames } from "../../toolchain/boards.mjs";
import { ROOT } from "../../toolchain/root.mjs";
import { untokenise } from "../../toolchain/pretokenise.mjs";
import { pathToFileURL } from "node:url";

/** the names terser renames, as rollup.config.mjs tells it */
const MANGLED = ((await import(pathToFileURL(path.join(ROOT, "rollup.config.mjs")).href)) as { PRIVATE_MEMBERS: { regex: RegExp } }).PRIVATE_MEMBERS.regex;

/** `_x` property names a bundle still has (member reads and writes, keys, strings): "name at line:col" */
export function unmangledInBundle(code: string): string[] {
  const found: string[] = [];
  const note = (name: unknown, node: { loc?: { start: { line: number; column: number } } | null }) => {
    if (typeof name === "string" && MANGLED.test(name)) found.push(`${name} at ${node.loc!.start.line}:${node.loc!.start.column}`);
  };
  const ast = parse(code, { ecmaVersion: 5, locations: true });
  simple(ast, {
    MemberExpression(n: any) {
      if (!n.computed) note(n.property.name, n);
    },
    Property(n: any) {
      note(n.key.type === "Identifier" ? n.key.name : n.key.value, n);
    },
    Literal(n: any) {
      note(n.value, n);
    },
  });
  return found;
}

/** Breaks of the convention in one firmware source: "file:line what" */
export function conventionProblems(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES5, true);
  const problems: string[] = [];
  const at = (n: ts.Node, what: string) => problems.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} ${what}`);
  const isPrivate = (n: ts.Node) => (ts.getCombinedModifierFlags(n as ts.Declaration) & ts.ModifierFlags.Private) !== 0;
  const visit = (n: ts.Node): void => {
    // a `_x` string is never renamed; a quoted `_x` key keeps that name in the whole bundle
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && MANGLED.test(n.text)) at(n, `"${n.text}" written as a string`);
    if (ts.isTemplateExpression(n)) {
      for (const part of [n.head, ...n.templateSpans.map((s) => s.literal)]) if (/(^|[^\w$])_[^_]/.test(part.text)) at(part, `"_" name in a template: ${part.text}`);
    }
    const members: Array<ts.ClassElement | ts.ParameterDeclaration> = [];
    if (ts.isClassLike(n)) for (const m of n.members) members.push(...(ts.isConstructorDeclaration(m) ? m.parameters.filter((p) => ts.isParameterPropertyDeclaration(p, m)) : [m]));
    for (const m of members) {
      const name = m.name && ts.isIdentifier(m.name) ? m.name.text : undefined;
      if (name === undefined) continue;
      if (isPrivate(m) && !MANGLED.test(name)) at(m, `private ${name} lacks the _ prefix`);
      // TypeScript then keeps other modules, the sim and tests from reading it by name
      if (!isPrivate(m) && MANGLED.test(name)) at(m, `${name} is not private`);
      // two-character `_x` names are kept for terser's own short names (rollup.config.mjs)
      if (MANGLED.test(name) && name.length < 3) at(m, `${name} is too short to be renamed`);
    }
    // the prefix belongs to private class members only: an object's `_x` key would be renamed as well
    if ((ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n) || ts.isPropertySignature(n) || ts.isMethodSignature(n)) && n.name && ts.isIdentifier(n.name) && MANGLED.test(n.name.text)) {
      at(n, `${n.name.text} outside a class: only private members take the _ prefix`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return problems;
}

function firmwareSources(): string[] {
  return ["boards", "drivers", "firmware"].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".ts"))
      .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join("/")),
  );
}

describe("private members: the mangling convention", function () {
  this.timeout(300_000);

  describe("the checks catch what they are for", () => {
    it("a bundle that still has a _ name, as a member, a key or a string", () => {
      expect(unmangledInBundle("a.b=1;a.c=function(){return this.d}")).to.deep.equal([]);
      expect(unmangledInBundle("a._timer=1;")).to.deep.equal(["_timer at 1:0"]);
      expect(unmangledInBundle('var o={_seen:1,"_last":2};')).to.deep.equal(["_seen at 1:7", "_last at 1:15"]);
      expect(unmangledInBundle('o["_mode"]=0;')).to.deep.equal(["_mode at 1:2"]);
      // dunder names are not in the convention (TypeScript's helpers such as __extends)
      expect(unmangledInBundle("var __extends=a.__proto__;")).to.deep.equal([]);
    });

    it("a private member without the prefix, a _ member that is not private, a _ string or key", () => {
      const src = [
        "class A {",
        "  private on: boolean;",
        "  _pub: number;",
        "  private _ok: number;",
        "  private _x: number;",
        "  constructor(private cfg: number, private _fine: number) { this.on = false; this._pub = 0; this._ok = cfg + _fine; }",
        '  q() { return this["_ok"] + `${this._ok}` + `_ok` ; }',
        "}",
        'var o = { _key: 1, "_quoted": 2 };',
      ].join("\n");
      expect(conventionProblems("x.ts", src)).to.deep.equal([
        "x.ts:2 private on lacks the _ prefix",
        "x.ts:3 _pub is not private",
        "x.ts:5 _x is too short to be renamed",
        "x.ts:6 private cfg lacks the _ prefix",
        'x.ts:7 "_ok" written as a string',
        'x.ts:7 "_ok" written as a string',
        'x.ts:9 _key outside a class: only private members take the _ prefix',
        'x.ts:9 "_quoted" written as a string',
      ]);
    });
  });

  it("every firmware source keeps the convention (private members prefixed, no _ name as a string)", () => {
    const problems = firmwareSources().flatMap((f) => conventionProblems(f, readFileSync(path.join(ROOT, f), "utf8")));
    expect(problems).to.deep.equal([]);
  });

  for (const board of boardNames()) {
    it(`dist/${board}.js has no _ name left: each one was renamed`, async () => {
      const code = untokenise(readFileSync(await ensureBundle(board), "latin1"));
      expect(unmangledInBundle(code)).to.deep.equal([]);
    });
  }

  it("the sources have _ members for the bundles to rename", () => {
    const names = firmwareSources().flatMap((f) => readFileSync(path.join(ROOT, f), "utf8").match(/\bprivate (?:readonly )?_\w+/g) || []);
    expect(names.length).to.be.greaterThan(100);
  });
});
