import { shortenText } from './shortenText.js';

/**
 * WhatsApp refuses a message whose buttons (or rows) share a title, and shortening can make
 * two titles equal. Each repeat (compared ignoring case and surrounding space) gets a
 * ` (2)`, ` (3)`… suffix, shortening the title further so the whole still fits `maxLength`.
 */
export function makeTitlesUnique(titles: readonly string[], maxLength: number): string[] {
  const taken = new Set<string>();
  const key = (title: string) => title.trim().toLowerCase();
  return titles.map((untrimmed) => {
    const title = untrimmed.trim();
    let unique = shortenText(title, maxLength);
    for (let copy = 2; taken.has(key(unique)); copy += 1) {
      const suffix = ` (${copy})`;
      unique = `${shortenText(title, maxLength - suffix.length)}${suffix}`;
    }
    taken.add(key(unique));
    return unique;
  });
}
