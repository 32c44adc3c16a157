export interface TextRange {
  readonly start: number;
  readonly end: number;
}

const URL = /(?:https?:\/\/|www\.)[^\s<>]+/giu;
const TRAILING_PUNCTUATION = /[.,;:!?'"*_~`]+$/u;

/** Where the web addresses are in a text, without the sentence punctuation that follows them. */
export function findUrlRanges(text: string): TextRange[] {
  return [...text.matchAll(URL)].map((match) => {
    let url = match[0].replace(TRAILING_PUNCTUATION, '');
    // `texto (https://example.com)`: the bracket belongs to the sentence unless the URL opened one.
    if (url.endsWith(')') && !url.includes('(')) url = url.slice(0, -1).replace(TRAILING_PUNCTUATION, '');
    return { start: match.index, end: match.index + url.length };
  });
}
