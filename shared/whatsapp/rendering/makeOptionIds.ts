import { shortenText } from './shortenText.js';

const SLUG_MAX = 40;

/**
 * The id WhatsApp returns when an option is tapped. The agent's own id is kept (trimmed and
 * fitted to `maxLength`); without one, the id is made from the title (`"Large pizza"` →
 * `large-pizza`, or `option-3` when the title has no Latin letters or digits). The result
 * depends only on the options, so the same call always yields the same ids, and repeats get
 * `-2`, `-3`… so ids are unique within the message.
 */
export function makeOptionIds(options: readonly { id?: string; title: string }[], maxLength: number): string[] {
  const taken = new Set<string>();
  return options.map((option, index) => {
    const given = option.id?.trim();
    const base = given ? shortenText(given, maxLength) : slugOf(option.title) || `option-${index + 1}`;
    let id = base;
    for (let copy = 2; taken.has(id); copy += 1) {
      const suffix = `-${copy}`;
      id = `${shortenText(base, maxLength - suffix.length)}${suffix}`;
    }
    taken.add(id);
    return id;
  });
}

function slugOf(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, SLUG_MAX)
    .replace(/^-+|-+$/g, '');
}
