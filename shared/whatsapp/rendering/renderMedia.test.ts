import { describe, expect, it } from 'vitest';
import { renderMedia } from './renderMedia.js';

const render = (args: Record<string, unknown>) => renderMedia(args, { maxTextChars: 4096 });
const url = 'https://example.com/files/menu.pdf';
const text = (body: string) => ({ type: 'text', text: { body, preview_url: false } });

describe('renderMedia', () => {
  it.each([
    { type: 'image', args: { caption: 'Our menu' }, media: { link: url, caption: 'Our menu' } },
    { type: 'video', args: { caption: 'Tour' }, media: { link: url, caption: 'Tour' } },
    { type: 'document', args: { caption: 'Menu', filename: 'menu.pdf' }, media: { link: url, caption: 'Menu', filename: 'menu.pdf' } },
    { type: 'image', args: { filename: 'ignored.png' }, media: { link: url } },
    { type: 'audio', args: {}, media: { link: url } },
    { type: 'sticker', args: {}, media: { link: url } },
  ])('$type by link $args', ({ type, args, media }) => {
    expect(render({ url, type, ...args })).toEqual({ messages: [{ type, [type]: media }], problems: [] });
  });

  it.each(['audio', 'sticker'])('sends the caption of %s (which WhatsApp cannot caption) as a text first', (type) => {
    expect(render({ url, type, caption: 'Listen' }).messages).toEqual([text('Listen'), { type, [type]: { link: url } }]);
  });

  it('keeps a caption of 1024 and shortens one of 1025', () => {
    const caption = (length: number) => (render({ url, type: 'image', caption: 'c'.repeat(length) }).messages[0] as { image: { caption: string } }).image.caption;
    expect(caption(1024)).toBe('c'.repeat(1024));
    expect(caption(1025)).toBe(`${'c'.repeat(1023)}…`);
  });

  it.each([
    { name: 'http', args: { url: 'http://example.com/a.png', type: 'image', caption: 'Look' }, problems: ['url is not an https URL'] },
    { name: 'a local file', args: { url: 'file:///etc/passwd', type: 'document', caption: 'Look' }, problems: ['url is not an https URL'] },
    { name: 'not a URL', args: { url: 'menu.pdf', type: 'document', caption: 'Look' }, problems: ['url is not an https URL'] },
    { name: 'no url', args: { type: 'image', caption: 'Look' }, problems: ['url is missing'] },
    {
      name: 'an unknown type',
      args: { url, type: 'gif', caption: 'Look' },
      problems: ['type Invalid option: expected one of "image"|"audio"|"video"|"document"|"sticker"'],
    },
  ])('refuses $name: only the caption goes, as text', ({ args, problems }) => {
    expect(render(args)).toEqual({ messages: [text('Look')], problems });
  });

  it('refuses without a caption: nothing to send', () => {
    expect(render({ url: 'ftp://x', type: 'image' })).toEqual({ messages: [], problems: ['url is not an https URL'] });
  });
});
