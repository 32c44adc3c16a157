import type { Definition, Nodes, Parents, PhrasingContent, Root, RootContent, Table } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { neutraliseMarkers } from './neutraliseMarkers.js';

const SEPARATOR = '──────────';
/**
 * Built once: the extensions hold no state between parses, and building them combines GFM's
 * constructs, a quarter of a short reply's parse. Single `~` is left as text: in answers it means
 * "about" (`~20 €`) or a home path far more often than strikethrough, which LLMs write as `~~x~~`.
 */
const PARSE_OPTIONS = { extensions: [gfm({ singleTilde: false })], mdastExtensions: [gfmFromMarkdown()] };
const WORD_JOINER = '\u2060';
const WORD_CHARACTER = /[\p{L}\p{N}]/u;

interface Context {
  readonly source: string;
  readonly definitions: ReadonlyMap<string, Definition>;
  readonly bold: boolean;
  readonly italic: boolean;
  readonly strike: boolean;
}

/**
 * Renders an LLM's Markdown answer as WhatsApp text: `*bold*`, `_italic_`, `~strike~`, code,
 * `- ` bullets, numbered lists and `> ` quotes; everything WhatsApp cannot show (headings, links,
 * images, tables, rules, HTML) becomes the closest readable text. Never throws.
 */
export function markdownToWhatsApp(markdown: string): string {
  // The parser's time grows with the square of the nesting (seconds at a few thousand levels):
  // such text is not Markdown anyone meant, so it is shown as it came without parsing it.
  if (ABSURD_NESTING.test(markdown)) return neutraliseMarkers(markdown).trim();
  let tree: Root;
  try {
    tree = fromMarkdown(markdown, PARSE_OPTIONS);
  } catch {
    // The parser recurses per nesting level and overflows the stack on absurdly deep input
    // (thousands of `>` or list markers); such text is shown as it came.
    return neutraliseMarkers(markdown).trim();
  }
  // Our renderer recurses per level too: a tree the parser survived can still be too deep for it.
  if (depthOf(tree) > MAX_RENDERED_DEPTH) return neutraliseMarkers(markdown).trim();
  const context: Context = {
    source: markdown,
    definitions: collectDefinitions(tree),
    bold: false,
    italic: false,
    strike: false,
  };
  return renderBlocks(tree.children, context, '\n\n').replace(/[^\S\n]+$/gm, '');
}

/** Far deeper than any answer nests quotes and lists; far shallower than the stack allows. */
const MAX_RENDERED_DEPTH = 200;
/** 200 quote or list markers in a row: one line nested as deep as MAX_RENDERED_DEPTH. */
const ABSURD_NESTING = /(?:(?:>|[*+-]\s|\d{1,9}[.)]\s)[^\S\n]*){200}/;

function depthOf(tree: Root): number {
  let deepest = 0;
  const pending: [Nodes, number][] = [[tree, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    deepest = Math.max(deepest, depth);
    if ('children' in node) for (const child of node.children) pending.push([child, depth + 1]);
  }
  return deepest;
}

function collectDefinitions(tree: Root): Map<string, Definition> {
  const definitions = new Map<string, Definition>();
  const visit = (node: Nodes): void => {
    if (node.type === 'definition' && !definitions.has(node.identifier)) definitions.set(node.identifier, node);
    if ('children' in node) for (const child of node.children) visit(child);
  };
  visit(tree);
  return definitions;
}

function renderBlocks(nodes: readonly RootContent[], context: Context, separator: string): string {
  return nodes
    .map((node) => renderBlock(node, context).trim())
    .filter((block) => block !== '')
    .join(separator);
}

function renderBlock(node: RootContent, context: Context): string {
  switch (node.type) {
    case 'paragraph':
      return collapseBlankLines(renderInline(node.children, context));
    case 'heading':
      return collapseBlankLines(wrapLines('*', renderInline(node.children, { ...context, bold: true })));
    case 'thematicBreak':
      return SEPARATOR;
    case 'code':
      return renderCodeBlock(node.value);
    case 'blockquote':
      return prefixLines(renderBlocks(node.children, context, '\n'), '> ', '>');
    case 'list': {
      const start = node.start ?? 1;
      return node.children
        .map((item, index) => {
          const marker = node.ordered ? `${start + index}. ` : '- ';
          const checkbox = item.checked === true ? '✅ ' : item.checked === false ? '⬜ ' : '';
          const body = checkbox + renderBlocks(item.children, context, '\n');
          return marker + indentFollowingLines(body, ' '.repeat(marker.length));
        })
        .join('\n');
    }
    case 'table':
      return renderTable(node, context);
    case 'html':
      return htmlToText(node.value);
    case 'footnoteDefinition':
      return `[${node.label ?? node.identifier}] ${renderBlocks(node.children, context, '\n')}`;
    case 'definition':
      return '';
    default:
      return renderInline([node], context);
  }
}

function renderCodeBlock(code: string): string {
  if (code.trim() === '') return '';
  // A ``` inside the code would close WhatsApp's block early (and confuse splitMessage).
  return '```\n' + code.replace(/`{3,}/g, (run) => [...run].join(WORD_JOINER)) + '\n```';
}

function renderTable(table: Table, context: Context): string {
  const [head, ...rows] = table.children.map((row) =>
    row.children.map((cell) => renderInline(cell.children, context).replace(/\s*\n\s*/g, ' ').trim()),
  );
  if (head === undefined) return '';
  if (rows.length === 0) return head.filter((cell) => cell !== '').join(' · ');
  return rows
    .map((cells) => {
      const pairs = cells.flatMap((value, column) => {
        if (value === '') return [];
        const header = head[column] ?? '';
        return [header === '' ? value : `${header}: ${value}`];
      });
      return `- ${pairs.join(' · ')}`;
    })
    .filter((line) => line !== '- ')
    .join('\n');
}

function renderInline(nodes: readonly (PhrasingContent | RootContent)[], context: Context): string {
  return nodes.map((node) => renderPhrase(node, context)).join('');
}

function renderPhrase(node: PhrasingContent | RootContent, context: Context): string {
  switch (node.type) {
    case 'text':
      return neutraliseMarkers(node.value);
    case 'strong':
      return renderSpan(node, '*', context.bold, { ...context, bold: true });
    case 'emphasis':
      return renderSpan(node, '_', context.italic, { ...context, italic: true });
    case 'delete':
      return renderSpan(node, '~', context.strike, { ...context, strike: true });
    case 'inlineCode':
      return renderInlineCode(node.value);
    case 'break':
      return '\n';
    case 'link':
      return renderLink(node.url, node.children, context);
    case 'linkReference': {
      const definition = context.definitions.get(node.identifier);
      return definition ? renderLink(definition.url, node.children, context) : renderInline(node.children, context);
    }
    case 'image':
      return renderImage(node.alt ?? '', node.url);
    case 'imageReference':
      return renderImage(node.alt ?? '', context.definitions.get(node.identifier)?.url ?? '');
    case 'html':
      return htmlToText(node.value);
    case 'footnoteReference':
      return `[${node.label ?? node.identifier}]`;
    default:
      return 'children' in node ? renderBlocks(node.children as RootContent[], context, '\n') : '';
  }
}

/**
 * Markers inside a word (`2*3*4`, `foo**bar**`) are kept as literal, inert text: WhatsApp only
 * formats at word boundaries, and in answers such markers are arithmetic or identifiers far more
 * often than emphasis.
 */
function renderSpan(node: Parents & PhrasingContent, marker: string, alreadyApplied: boolean, inner: Context): string {
  const content = renderInline(node.children, inner);
  const { start, end } = node.position ?? {};
  const first = node.children[0]?.position?.start.offset;
  const last = node.children.at(-1)?.position?.end.offset;
  if (start?.offset !== undefined && end?.offset !== undefined && first !== undefined && last !== undefined) {
    const before = inner.source[start.offset - 1] ?? '';
    const after = inner.source[end.offset] ?? '';
    if (WORD_CHARACTER.test(before) || WORD_CHARACTER.test(after)) {
      const opening = inner.source.slice(start.offset, first);
      const closing = inner.source.slice(last, end.offset);
      return neutraliseMarkers(opening) + content + neutraliseMarkers(closing);
    }
  }
  return alreadyApplied ? content : wrapLines(marker, content);
}

/** WhatsApp formatting does not reliably cross a line break, so each line gets its own markers. */
function wrapLines(marker: string, text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      const leading = line.slice(0, line.indexOf(trimmed));
      const trailing = line.slice(leading.length + trimmed.length);
      return leading + marker + trimmed + marker + trailing;
    })
    .join('\n');
}

function renderInlineCode(code: string): string {
  if (code.trim() === '') return code;
  return '`' + code.replaceAll('`', `${WORD_JOINER}\`${WORD_JOINER}`) + '`';
}

function renderLink(url: string, children: readonly PhrasingContent[], context: Context): string {
  const text = renderInline(children, context).trim();
  if (url === '' || url.startsWith('#')) return text;
  const plain = plainText(children).trim();
  // Autolinked URLs and e-mails are left raw: WhatsApp links them itself, and neutralising an
  // `_` inside would break the link.
  if (plain !== '' && [plain, `mailto:${plain}`, `http://${plain}`, `https://${plain}`].includes(url)) return encodeBackticks(plain);
  return text === '' ? encodeBackticks(url) : `${text} (${encodeBackticks(url)})`;
}

function renderImage(alt: string, url: string): string {
  const text = neutraliseMarkers(alt.trim());
  if (url === '') return text;
  return text === '' ? encodeBackticks(url) : `${text} (${encodeBackticks(url)})`;
}

/** A backtick is not a valid URL character anyway, and ``` in a URL would open a code block. */
function encodeBackticks(url: string): string {
  return url.replaceAll('`', '%60');
}

function plainText(nodes: readonly PhrasingContent[]): string {
  return nodes
    .map((node) => {
      if ('value' in node) return node.value;
      if ('children' in node) return plainText(node.children);
      return '';
    })
    .join('');
}

function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?[a-z][^>]*>/gi, '');
  return collapseBlankLines(neutraliseMarkers(text));
}

/** `<br><br><br>` and the like: at most one blank line, as between blocks. */
function collapseBlankLines(text: string): string {
  return text.replace(/\n[^\S\n]*\n(?:[^\S\n]*\n)+/g, '\n\n');
}

function prefixLines(text: string, prefix: string, emptyPrefix: string): string {
  return text
    .split('\n')
    .map((line) => (line.trim() === '' ? emptyPrefix : prefix + line))
    .join('\n');
}

function indentFollowingLines(text: string, indent: string): string {
  return text
    .split('\n')
    .map((line, index) => (index === 0 || line.trim() === '' ? line : indent + line))
    .join('\n');
}
