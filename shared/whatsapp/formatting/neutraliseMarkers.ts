const WORD_JOINER = '\u2060';
const MARKER_RUN = /[*_~`]+/g;
const WHITESPACE = /\s/;

/**
 * Makes the WhatsApp markup characters in plain text inert, so `2*3*4`, `snake_case_names` or
 * `~/path~` stay literal instead of turning bold, italic or struck through.
 *
 * WhatsApp publishes no escape syntax. Its markers only open after the start of a line, a space
 * or punctuation, and only close before one of those; a WORD JOINER (U+2060) is none of these,
 * so a marker with one on each side can neither open nor close. The joiner is invisible and
 * never breaks a line, so the text reads and wraps exactly as before. A single marker with
 * whitespace on both sides can never open or close (markers must touch their text), so it is left
 * as it is; a run such as ``` or ** could still act on itself.
 * The caller's fragment edges count as "not whitespace": a neighbour it cannot see might pair.
 */
export function neutraliseMarkers(text: string): string {
  return text.replace(MARKER_RUN, (run, offset: number) => {
    const before = text[offset - 1];
    const after = text[offset + run.length];
    const isolated =
      run.length === 1 && before !== undefined && after !== undefined && WHITESPACE.test(before) && WHITESPACE.test(after);
    return isolated ? run : WORD_JOINER + [...run].join(WORD_JOINER) + WORD_JOINER;
  });
}
