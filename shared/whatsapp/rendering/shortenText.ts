const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const ELLIPSIS = '…';

/**
 * Fits `text` into `maxLength` UTF-16 code units: unchanged when it fits, else cut at a
 * grapheme boundary (never inside an emoji, a flag or a letter with its accents) with an
 * ellipsis that counts towards the limit. Trailing spaces before the ellipsis are dropped.
 */
export function shortenText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const room = maxLength - ELLIPSIS.length;
  let kept = '';
  for (const { segment } of graphemes.segment(text)) {
    if (kept.length + segment.length > room) break;
    kept += segment;
  }
  return `${kept.trimEnd()}${ELLIPSIS}`;
}
