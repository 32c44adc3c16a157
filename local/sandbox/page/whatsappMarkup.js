/**
 * Parses WhatsApp's text markup into a small tree the page turns into DOM nodes (never HTML
 * strings, so user and bot text cannot inject markup). Shared with node tests.
 */

const WORD = /[\p{L}\p{N}]/u;
const URL_PATTERN = /https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]]/gy;
const FENCE = '```';
const STYLES = { '*': 'bold', _: 'italic', '~': 'strike' };

/** @param {string} text @returns {import('./whatsappMarkup.js').MarkupNode[]} */
export function parseMarkup(text) {
  const source = text.replace(/\r\n?/g, '\n');
  const blocks = [];
  let last = 0;
  // A fence spanning lines is a code block; one within a line is inline monospace (parseInline).
  for (const match of source.matchAll(/```([\s\S]*?)```/g)) {
    const code = match[1] ?? '';
    if (!code.includes('\n')) continue;
    blocks.push(...parseLines(source.slice(last, match.index)));
    blocks.push({ type: 'pre', text: code.replace(/^\n/, '').replace(/\n$/, '') });
    last = match.index + match[0].length;
  }
  blocks.push(...parseLines(source.slice(last)));
  return blocks;
}

/** Groups lines into paragraphs, lists and quotes; a blank line ends the current one. */
function parseLines(text) {
  const blocks = [];
  let afterBlank = true;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      afterBlank = true;
      continue;
    }
    const bullet = /^\s*[*-] (.*)$/.exec(line);
    const numbered = /^\s*(\d+)\. (.*)$/.exec(line);
    const quote = /^> ?(.*)$/.exec(line);
    const type = bullet || numbered ? 'list' : quote ? 'quote' : 'paragraph';
    const ordered = Boolean(numbered);
    const last = blocks.at(-1);
    const continues = !afterBlank && last?.type === type && (type !== 'list' || last.ordered === ordered);
    afterBlank = false;
    if (type === 'list') {
      const item = { type: 'item', children: parseInline((bullet ?? numbered)?.at(-1) ?? '') };
      if (continues) last.children.push(item);
      else blocks.push({ type: 'list', ordered, start: numbered ? Number(numbered[1]) : 1, children: [item] });
      continue;
    }
    const children = parseInline(quote ? (quote[1] ?? '') : line);
    if (continues) last.children.push({ type: 'break' }, ...children);
    else blocks.push({ type, children });
  }
  return blocks;
}

/** @param {string} text @returns {import('./whatsappMarkup.js').MarkupNode[]} */
export function parseInline(text) {
  const nodes = [];
  let plain = '';
  const flush = () => {
    if (plain) nodes.push({ type: 'text', text: plain });
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    const before = text[i - 1];
    const opensHere = before === undefined || !WORD.test(before);
    // Links first, so markers inside a URL (`/_path_`) stay part of it.
    URL_PATTERN.lastIndex = i;
    const url = opensHere && ch === 'h' ? URL_PATTERN.exec(text) : null;
    if (url) {
      flush();
      nodes.push({ type: 'link', text: url[0] });
      i += url[0].length;
      continue;
    }
    if (text.startsWith(FENCE, i)) {
      const end = text.indexOf(FENCE, i + FENCE.length);
      if (end > i + FENCE.length) {
        flush();
        nodes.push({ type: 'code', text: text.slice(i + FENCE.length, end) });
        i = end + FENCE.length;
        continue;
      }
    }
    if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        nodes.push({ type: 'code', text: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    const style = STYLES[ch];
    if (style && opensHere && /\S/.test(text[i + 1] ?? ' ')) {
      const end = closingMarker(text, ch, i + 1);
      if (end > 0) {
        flush();
        nodes.push({ type: style, children: parseInline(text.slice(i + 1, end)) });
        i = end + 1;
        continue;
      }
    }
    plain += ch;
    i += 1;
  }
  flush();
  return nodes;
}

/** A closing marker follows a non-space and is not glued to a following letter or digit. */
function closingMarker(text, marker, from) {
  for (let j = text.indexOf(marker, from + 1); j > 0; j = text.indexOf(marker, j + 1)) {
    const after = text[j + 1];
    if (/\S/.test(text[j - 1] ?? ' ') && (after === undefined || !WORD.test(after))) return j;
  }
  return -1;
}
