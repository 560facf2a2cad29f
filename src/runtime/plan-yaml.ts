/**
 * Reading a plan's YAML within the nesting limit (`LIMITS.maxDocumentDepth`, see
 * `core/nesting.ts`), checked before the parts of the YAML library that cost time, memory or
 * stack in proportion to the depth:
 * 1. the CST parser is driven token by token and stopped as soon as its stack of open nodes is
 *    deeper than the limit, so a file nested 100,000 levels costs the parse of its first few
 *    hundred levels, not seconds and hundreds of megabytes;
 * 2. the composed document is measured with aliases followed (`&a [*a, …]` chains multiply
 *    depth without adding text), iteratively, before `toJS` builds the data.
 */
import {
  Composer,
  Lexer,
  Parser,
  YAMLParseError,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isSeq,
  type CST,
  type Document,
  type LineCounter,
  type Node as YamlNode,
} from 'yaml';

import { PlanError } from '../core/errors.ts';
import { tooDeepMessage } from '../core/nesting.ts';
import { LIMITS } from '../core/validate.ts';

/**
 * Open nodes the CST parser may hold beyond the document's depth: the document itself and a
 * scalar or flow mapping it is still building.
 */
const PARSER_STACK_EXTRA = 2;

/**
 * Parse `text` as one YAML document (as `yaml`'s `parseDocument` does, with the plan's options),
 * refusing a document nested deeper than `LIMITS.maxDocumentDepth`. YAML syntax errors are left
 * in `doc.errors` for the caller to report.
 * @throws PlanError with the line of the first level too deep.
 */
export function readYaml(text: string, file: string, lines: LineCounter): Document.Parsed {
  const limit = LIMITS.maxDocumentDepth;
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer({ prettyErrors: false, merge: true, uniqueKeys: true });
  const docs: Document.Parsed[] = [];
  const compose = (tokens: Iterable<CST.Token>): void => {
    for (const token of tokens) for (const doc of composer.next(token)) docs.push(doc);
  };
  let aliases = false;
  // `Parser.parse` reports the first line itself; driving `next` by hand, we do.
  lines.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    if (lexeme.startsWith('*')) aliases = true;
    compose(parser.next(lexeme));
    if (parser.stack.length > limit + PARSER_STACK_EXTRA) {
      const { line, col } = lines.linePos(parser.offset);
      throw new PlanError(file, [{ line, column: col, field: '', message: tooDeepMessage(limit) }]);
    }
  }
  compose(parser.end());
  for (const doc of composer.end(true, text.length)) docs.push(doc);

  // compose(…, forceDoc = true) always ends with a document.
  const [doc, second] = docs;
  if (doc === undefined) throw new Error('bug: the YAML composer produced no document');
  if (second !== undefined) {
    doc.errors.push(
      new YAMLParseError(
        [second.range[0], second.range[1]],
        'MULTIPLE_DOCS',
        'Source contains multiple documents; a plan file holds one',
      ),
    );
  }
  if (aliases && doc.errors.length === 0) {
    const alias = aliasTooDeep(doc, limit);
    if (alias !== null) {
      const { line, col } = lines.linePos(alias.range?.[0] ?? 0);
      throw new PlanError(file, [
        {
          line,
          column: col,
          field: '',
          message: `through the alias *${alias.source}, the plan ${tooDeepMessage(limit)}`,
        },
      ]);
    }
  }
  return doc;
}

/**
 * The alias through which the document's data nests deeper than `limit` once aliases are
 * followed, or null. Iterative, each node measured once; an alias inside the node it names (a
 * cycle) counts as a leaf here and is refused later as JSON that refers to itself.
 */
function aliasTooDeep(doc: Document.Parsed, limit: number): (YamlNode & { source: string }) | null {
  const root = doc.contents;
  if (root === null) return null;
  const targets = resolveAliases(root);
  const childrenOf = (node: YamlNode): YamlNode[] => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target === undefined ? [] : [target];
    }
    if (isMap(node)) {
      const out: YamlNode[] = [];
      for (const pair of node.items) {
        if (isPair(pair)) {
          if (pair.key !== null && typeof pair.key === 'object') out.push(pair.key as YamlNode);
          if (pair.value !== null && typeof pair.value === 'object')
            out.push(pair.value as YamlNode);
        }
      }
      return out;
    }
    if (isSeq(node))
      return node.items.filter((i): i is YamlNode => i !== null && typeof i === 'object');
    return [];
  };

  // Height of each node: levels of collections below and including it, aliases followed.
  const height = new Map<YamlNode, number>();
  const open = new Set<YamlNode>();
  const stack: YamlNode[] = [root];
  while (stack.length > 0) {
    const node = stack[stack.length - 1]!;
    if (height.has(node)) {
      stack.pop();
      continue;
    }
    const children = childrenOf(node);
    if (!open.has(node)) {
      open.add(node);
      for (const child of children) if (!height.has(child) && !open.has(child)) stack.push(child);
      continue;
    }
    let below = 0;
    for (const child of children) below = Math.max(below, height.get(child) ?? 0);
    const own = below + (isCollection(node) ? 1 : 0);
    height.set(node, own);
    open.delete(node);
    stack.pop();
    if (own > limit) {
      // Follow the deepest path down to the alias that makes it deep: without aliases the
      // parser's check would have stopped the document already.
      let at: YamlNode = node;
      for (;;) {
        if (isAlias(at)) return at;
        let next: YamlNode | null = null;
        for (const child of childrenOf(at)) {
          if (next === null || (height.get(child) ?? 0) > (height.get(next) ?? 0)) next = child;
        }
        if (next === null) return null;
        at = next;
      }
    }
  }
  return null;
}

/**
 * Each alias's node: the latest node before it, in document order, with its anchor (YAML's
 * rule), found in one pass rather than a search per alias.
 */
function resolveAliases(root: YamlNode): Map<YamlNode, YamlNode> {
  const targets = new Map<YamlNode, YamlNode>();
  const anchors = new Map<string, YamlNode>();
  const stack: YamlNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target !== undefined) targets.set(node, target);
      continue;
    }
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === 'string') anchors.set(anchor, node);
    const children: YamlNode[] = [];
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (pair.key !== null && typeof pair.key === 'object') children.push(pair.key as YamlNode);
        if (pair.value !== null && typeof pair.value === 'object')
          children.push(pair.value as YamlNode);
      }
    } else if (isSeq(node)) {
      for (const item of node.items)
        if (item !== null && typeof item === 'object') children.push(item as YamlNode);
    }
    // Pushed in reverse, so they are visited in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return targets;
}
