// Refuses, in a built bundle, what real Espruino fails on (docs/espruino-dialect.md,
// right column and "Traps"). TypeScript's ES5 target and the lib setting catch most of it at
// compile time; this catches what slips through (helpers, hand-written code, lowering gaps).

import * as acorn from "acorn";
import * as walk from "acorn-walk";
import { MISSING_IN_ESPRUINO } from "./espruino-dialect.js";
import { untokenise } from "./pretokenise.mjs";

export interface BundleProblem {
  construct: string;
  line: number;
  column: number;
}

/** Globals Espruino does not have at all (probed on 2v29: toolchain/espruino-dialect.ts). */
const MISSING_GLOBALS = new Set(MISSING_IN_ESPRUINO.global);

/** `Ctor.member` that Espruino lacks, plus the prototype reads it cannot do (measured). */
const MISSING_MEMBERS = new Set([
  ...Object.entries(MISSING_IN_ESPRUINO)
    .filter(([where]) => where !== "global" && !where.includes(".") && where !== "TypedArray")
    .flatMap(([where, names]) => names.map((n) => where + "." + n)),
  "Array.prototype.slice",
  "ArrayBuffer.prototype.slice",
]);

/**
 * Methods missing on every Espruino type that has them in V8, distinctive enough that a call
 * by that name is not one of our own objects' methods. (`lastIndexOf` is missing on arrays but
 * not strings, `at`/`keys` are too generic: those are left to the simulator, which removes them.)
 */
const GENERIC_NAMES = new Set(["at", "with", "keys", "values", "entries", "search", "link", "sub", "sup", "big", "small", "fixed", "bold", "anchor", "blink", "strike", "italics", "is", "seal", "raw", "resize", "transfer", "detached"]);
const MISSING_METHODS = (() => {
  const present = new Set<string>();
  const missing = new Set<string>();
  for (const [where, names] of Object.entries(MISSING_IN_ESPRUINO)) if (where.endsWith(".prototype")) names.forEach((n) => missing.add(n));
  // a name missing on one prototype but present on another (String lastIndexOf) can't be judged by name
  for (const proto of [Array.prototype, String.prototype, Number.prototype, Object.prototype, Promise.prototype, Date.prototype, Uint8Array.prototype]) {
    const where = Object.entries({ Array, String, Number, Object, Promise, Date, Uint8Array }).find(([, c]) => c.prototype === proto)![0];
    const lacking = new Set(MISSING_IN_ESPRUINO[where + ".prototype"] ?? (where === "Uint8Array" ? MISSING_IN_ESPRUINO["TypedArray.prototype"] : []));
    for (const name of Object.getOwnPropertyNames(proto)) if (!lacking.has(name)) present.add(name);
    if (where === "Uint8Array") for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(proto))) if (!lacking.has(name)) present.add(name);
  }
  return new Set([...missing].filter((n) => !present.has(n) && !GENERIC_NAMES.has(n)));
})();

type AnyNode = acorn.Node & { [key: string]: any };

function memberName(node: AnyNode): string | undefined {
  if (node.type === "Identifier") return node.name;
  if (node.type === "MemberExpression" && !node.computed && node.property.type === "Identifier") {
    const object = memberName(node.object);
    return object === undefined ? undefined : object + "." + node.property.name;
  }
  return undefined;
}

/** `eval` or the indirect `(0, eval)` */
function isEval(callee: AnyNode): boolean {
  const target = callee.type === "SequenceExpression" ? callee.expressions[callee.expressions.length - 1] : callee;
  return target.type === "Identifier" && target.name === "eval";
}

/** code: the bundle's source, or its pretokenised image (latin1), which is checked as the source it stands for */
export function checkBundle(code: string): BundleProblem[] {
  code = untokenise(code);
  const problems: BundleProblem[] = [];
  let ast: acorn.Program;
  try {
    ast = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", locations: true, allowReturnOutsideFunction: true });
  } catch (err) {
    const e = err as { message: string; loc?: { line: number; column: number } };
    return [{ construct: "syntax error: " + e.message, line: e.loc?.line ?? 0, column: e.loc?.column ?? 0 }];
  }
  const add = (construct: string, node: acorn.Node) =>
    problems.push({ construct, line: node.loc?.start.line ?? 0, column: node.loc?.start.column ?? 0 });
  const fn = (node: AnyNode) => {
    if (node.async) add("async function", node);
    if (node.generator) add("generator function", node);
    for (const param of node.params as AnyNode[]) {
      if (param.type === "AssignmentPattern") add("default parameter", param);
      if (param.type === "RestElement") add("rest parameter", param);
      if (param.type === "ObjectPattern" || param.type === "ArrayPattern") add("destructuring parameter", param);
    }
  };

  walk.full(ast, (n) => {
    const node = n as AnyNode;
    switch (node.type) {
      case "LabeledStatement":
        add("labelled statement", node);
        break;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        fn(node);
        break;
      case "AwaitExpression":
        add("await", node);
        break;
      case "YieldExpression":
        add("yield", node);
        break;
      case "SpreadElement":
        add("spread", node);
        break;
      case "VariableDeclarator":
        if (node.id.type === "ObjectPattern" || node.id.type === "ArrayPattern") add("destructuring", node);
        break;
      case "AssignmentExpression":
        if (node.left.type === "ObjectPattern" || node.left.type === "ArrayPattern") add("destructuring assignment", node);
        if (node.operator === "**=") add("** operator", node);
        // Espruino: "Assignment to a constant" when truncating an array this way (measured)
        if (node.left.type === "MemberExpression" && !node.left.computed && node.left.property.name === "length") add("assignment to .length", node);
        break;
      case "BinaryExpression":
        if (node.operator === "**") add("** operator", node);
        break;
      case "ChainExpression":
        add("optional chaining ?.", node);
        break;
      case "Property":
        if (node.computed) add("computed key", node);
        break;
      case "ArrayExpression":
        if ((node.elements as Array<AnyNode | null>).some((e) => e === null)) add("empty array slot", node);
        break;
      case "ClassDeclaration":
      case "ClassExpression":
        if ((node.body.body as AnyNode[]).some((m) => m.type === "PropertyDefinition" || m.type === "StaticBlock")) add("class field", node);
        break;
      case "MemberExpression": {
        const name = memberName(node);
        if (name && MISSING_MEMBERS.has(name)) add(name, node);
        break;
      }
      case "CallExpression": {
        const callee = node.callee as AnyNode;
        if (callee.type === "MemberExpression" && !callee.computed && MISSING_METHODS.has(callee.property.name)) add("." + callee.property.name + "()", callee.property);
        // code evaluated from a literal (the OTA module in each bundle) is code the node runs too
        const arg = node.arguments[0] as AnyNode | undefined;
        if (isEval(callee) && arg && arg.type === "Literal" && typeof arg.value === "string") {
          for (const p of checkBundle(arg.value)) add("in evaluated code at " + p.line + ":" + p.column + ": " + p.construct, node);
        }
        break;
      }
      case "ForOfStatement":
        if (node.await) add("for await", node);
        break;
      case "ImportExpression":
        add("dynamic import", node);
        break;
      case "Literal":
        if (typeof node.bigint === "string") add("BigInt literal", node);
        // Espruino's regex engine silently fails {n} and {m,n} quantifiers: /^a{1,3}$/.test("aa") is
        // false; /x/s does not parse and /^b/m does not match after a newline (measured on 2v29)
        if (node.regex && /(^|[^\\])\{\d*,?\d*\}/.test(node.regex.pattern)) add("regex {m,n} quantifier", node);
        if (node.regex && /[smd]/.test(node.regex.flags)) add("regex flag " + node.regex.flags, node);
        break;
    }
  });

  // Globals Espruino lacks: a free identifier in expression position (not a property name).
  walk.fullAncestor(ast, (n, _state, ancestors) => {
    const node = n as AnyNode;
    if (node.type !== "Identifier" || !MISSING_GLOBALS.has(node.name)) return;
    const parent = ancestors[ancestors.length - 2] as AnyNode | undefined;
    if (parent?.type === "MemberExpression" && parent.property === node && !parent.computed) return;
    if (parent?.type === "Property" && parent.key === node && !parent.computed) return;
    if (isDeclaredLocally(node.name, ancestors as AnyNode[])) return;
    add(node.name, node);
  });

  checkHoisting(ast as AnyNode, add);
  checkVarHoisting(ast as AnyNode, add);
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function isDeclaredLocally(name: string, ancestors: AnyNode[]): boolean {
  return ancestors.some(
    (a) =>
      ((a.type === "FunctionDeclaration" || a.type === "FunctionExpression" || a.type === "ArrowFunctionExpression") &&
        (a.params as AnyNode[]).some((p) => p.type === "Identifier" && p.name === name)) ||
      (a.type === "VariableDeclarator" && a.id.type === "Identifier" && a.id.name === name),
  );
}

/**
 * Espruino does not hoist function declarations: calling one from a statement that runs
 * before its declaration fails. Flag names used (outside nested function bodies, which run
 * later) in a statement earlier in the same body than the declaration.
 */
function checkHoisting(ast: AnyNode, add: (construct: string, node: acorn.Node) => void): void {
  const bodies: AnyNode[][] = [];
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type === "Program" || node.type === "BlockStatement") bodies.push(node.body);
  });
  for (const body of bodies) {
    body.forEach((statement, index) => {
      if (statement.type !== "FunctionDeclaration") return;
      const name = statement.id.name as string;
      for (let i = 0; i < index; i++) {
        const earlier = body[i];
        if (earlier.type === "FunctionDeclaration") continue;
        const use = findImmediateUse(earlier, name);
        if (use) {
          add(`function ${name} used before its declaration (Espruino does not hoist)`, use);
          return;
        }
      }
    });
  }
}

const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

/** `o.name` or `{ name: v }`: a property's name, not a variable */
function isPropertyName(parent: AnyNode | undefined, key: string): boolean {
  return !!parent && !parent.computed && ((parent.type === "MemberExpression" && key === "property") || (parent.type === "Property" && key === "key"));
}

/** the nodes of a function's own body in source order, not those of the functions nested in it */
function ownNodes(root: AnyNode, visit: (node: AnyNode, parent: AnyNode | undefined, key: string) => void): void {
  const go = (node: AnyNode, parent: AnyNode | undefined, key: string): void => {
    if (!node || typeof node.type !== "string") return;
    visit(node, parent, key);
    if (parent && FUNCTION_TYPES.has(node.type)) return;
    for (const k of Object.keys(node)) {
      if (k === "loc" || k === "start" || k === "end") continue;
      const value = node[k];
      if (Array.isArray(value)) value.forEach((v) => v && typeof v === "object" && go(v, node, k));
      else if (value && typeof value === "object") go(value, node, k);
    }
  };
  go(root, undefined, "");
}

/**
 * Espruino does not hoist `var` either: a `var` statement declares the name when it runs, so
 * an assignment earlier in the same function writes the enclosing scope's variable of that
 * name (measured on 2v29: terser's inlining put `var r,e` after a return, and the caller's
 * uplink object became the node id). Flag a name used before its first `var` in a function.
 */
function checkVarHoisting(ast: AnyNode, add: (construct: string, node: acorn.Node) => void): void {
  const functions: AnyNode[] = [];
  walk.full(ast, (n) => {
    if (FUNCTION_TYPES.has((n as AnyNode).type)) functions.push(n as AnyNode);
  });
  for (const fn of functions) {
    const declared = new Map<string, number>();
    ownNodes(fn.body, (node) => {
      if (node.type === "VariableDeclaration" && node.kind === "var") {
        for (const d of node.declarations) if (d.id.type === "Identifier" && !declared.has(d.id.name)) declared.set(d.id.name, d.id.start);
      }
    });
    for (const p of fn.params as AnyNode[]) if (p.type === "Identifier") declared.delete(p.name);
    if (fn.id && fn.type === "FunctionExpression") declared.delete(fn.id.name);
    if (!declared.size) continue;
    const reported = new Set<string>();
    ownNodes(fn.body, (node, parent, key) => {
      if (node.type !== "Identifier" || reported.has(node.name)) return;
      const at = declared.get(node.name);
      if (at === undefined || node.start >= at) return;
      if (isPropertyName(parent, key)) return;
      if (parent && FUNCTION_TYPES.has(parent.type)) return; // a nested function's name or parameter
      if (parent?.type === "CatchClause" && key === "param") return; // catch (t) binds its own t
      reported.add(node.name);
      add(`var ${node.name} used before its declaration (Espruino does not hoist var: the outer ${node.name} is written)`, node);
    });
  }
}

function findImmediateUse(statement: AnyNode, name: string): acorn.Node | undefined {
  let found: acorn.Node | undefined;
  ownNodes(statement, (node, parent, key) => {
    if (!found && node.type === "Identifier" && node.name === name && !isPropertyName(parent, key)) found = node;
  });
  return found;
}
