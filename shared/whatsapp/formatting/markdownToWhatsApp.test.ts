import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { markdownToWhatsApp } from './markdownToWhatsApp.js';

const J = '\u2060';
const FENCE = '```';

describe('markdownToWhatsApp', () => {
  it.each([
    { name: 'empty input', markdown: '', expected: '' },
    { name: 'only whitespace', markdown: ' \n\n\t ', expected: '' },
    {
      name: 'bold, italic and strikethrough in both Markdown spellings',
      markdown: '**negrita**, *cursiva*, __también__, _también_ y ~~tachado~~',
      expected: '*negrita*, _cursiva_, *también*, _también_ y ~tachado~',
    },
    { name: 'bold italic', markdown: '***muy importante***', expected: '_*muy importante*_' },
    {
      name: 'inline code is kept as it is',
      markdown: 'Ejecuta `npm install` y luego `snake_case --x=*`.',
      expected: 'Ejecuta `npm install` y luego `snake_case --x=*`.',
    },
    { name: 'a backtick inside inline code', markdown: '`` a`b ``', expected: `\`a${J}\`${J}b\`` },
    {
      name: 'fenced code drops its language',
      markdown: "```python\nprint('hola')\n\n\nprint('adiós')\n```",
      expected: "```\nprint('hola')\n\n\nprint('adiós')\n```",
    },
    { name: 'indented code', markdown: 'Ejemplo:\n\n    x = 1', expected: 'Ejemplo:\n\n```\nx = 1\n```' },
    {
      name: 'a fence inside code cannot close the block',
      markdown: '`````\n```\n````x\n`````',
      expected: `${FENCE}\n\`${J}\`${J}\`\n\`${J}\`${J}\`${J}\`x\n${FENCE}`,
    },
    {
      name: 'headings become bold lines, without doubling bold inside',
      markdown: '# Resumen\n\nTexto.\n\n## Detalles **clave** y _notas_',
      expected: '*Resumen*\n\nTexto.\n\n*Detalles clave y _notas_*',
    },
    {
      name: 'nested bullet and numbered lists',
      markdown: '- Frutas\n  - Manzana\n  - Pera\n- Verduras\n  1. Zanahoria\n  2. Tomate\n     - cherry',
      expected: '- Frutas\n  - Manzana\n  - Pera\n- Verduras\n  1. Zanahoria\n  2. Tomate\n     - cherry',
    },
    { name: 'numbered lists keep their numbers', markdown: '3. tres\n4. cuatro', expected: '3. tres\n4. cuatro' },
    { name: 'loose lists are tightened', markdown: '* a\n\n* b\n\n  más de b', expected: '- a\n- b\n  más de b' },
    { name: 'task lists', markdown: '- [x] Hecho\n- [ ] Pendiente', expected: '- ✅ Hecho\n- ⬜ Pendiente' },
    {
      name: 'block quotes',
      markdown: '> Nota: **importante**\n> segunda línea\n>\n> - punto',
      expected: '> Nota: *importante*\n> segunda línea\n> - punto',
    },
    { name: 'nested quotes', markdown: '> a\n>> b', expected: '> a\n> > b' },
    {
      name: 'links become text and URL',
      markdown: 'Lee la [documentación](https://example.com/docs?a=1&b=2 "Docs").',
      expected: 'Lee la documentación (https://example.com/docs?a=1&b=2).',
    },
    { name: 'formatted link text', markdown: '[**Docs** oficiales](https://x.io)', expected: '*Docs* oficiales (https://x.io)' },
    { name: 'link whose text is its URL', markdown: '[https://example.com](https://example.com)', expected: 'https://example.com' },
    {
      name: 'bare URLs keep their underscores untouched',
      markdown: 'Visita https://example.com/mi_pagina_web. o <https://x.io/a_b>',
      expected: 'Visita https://example.com/mi_pagina_web. o https://x.io/a_b',
    },
    {
      name: 'backticks in a URL are percent-encoded',
      markdown: 'https://x.io/a```b y [c](<https://x.io/`d`>)',
      expected: 'https://x.io/a%60%60%60b y c (https://x.io/%60d%60)',
    },
    {
      name: 'e-mail and www autolinks',
      markdown: 'Escribe a soporte@example.com o www.example.com',
      expected: 'Escribe a soporte@example.com o www.example.com',
    },
    { name: 'in-page anchors keep only the text', markdown: '[arriba](#inicio)', expected: 'arriba' },
    {
      name: 'reference links',
      markdown: 'Ver [la guía][g].\n\n[g]: https://example.com/guia',
      expected: 'Ver la guía (https://example.com/guia).',
    },
    {
      name: 'images become alt text and URL',
      markdown: '![Logo de la empresa](https://example.com/logo.png) ![](https://example.com/x.png)',
      expected: 'Logo de la empresa (https://example.com/logo.png) https://example.com/x.png',
    },
    { name: 'thematic break', markdown: 'Antes\n\n---\n\nDespués', expected: 'Antes\n\n──────────\n\nDespués' },
    {
      name: 'tables become one line per row of header: value pairs',
      markdown: '| Plan | Precio | Notas |\n|---|---:|---|\n| Básico | 10 € | |\n| **Pro** | 20 € | incluye _soporte_ |',
      expected: '- Plan: Básico · Precio: 10 €\n- Plan: *Pro* · Precio: 20 € · Notas: incluye _soporte_',
    },
    { name: 'a table with only a header', markdown: '| a | b |\n|---|---|', expected: 'a · b' },
    {
      name: 'HTML is stripped to its text',
      markdown: 'Hola <b>mundo</b><br>adiós <!-- nota interna -->\n\n<div>\n<p>bloque</p>\n</div>',
      expected: 'Hola mundo\nadiós\n\nbloque',
    },
    {
      name: 'plain-text markers are neutralised',
      markdown: '2*3*4, snake_case_names, ~/path~ y ~20 € pero 5 * 3 = 15',
      expected: `2${J}*${J}3${J}*${J}4, snake${J}_${J}case${J}_${J}names, ${J}~${J}/path${J}~${J} y ${J}~${J}20 € pero 5 * 3 = 15`,
    },
    { name: 'escaped markers stay literal', markdown: '\\*no es negrita\\*', expected: `${J}*${J}no es negrita${J}*${J}` },
    { name: 'emphasis inside a word stays literal', markdown: '**foo**bar', expected: `${J}*${J}*${J}foo${J}*${J}*${J}bar` },
    {
      name: 'formatting across a line break is closed on each line',
      markdown: '**línea uno\nlínea dos**',
      expected: '*línea uno*\n*línea dos*',
    },
    { name: 'footnotes', markdown: 'Dato[^1].\n\n[^1]: Fuente: INE.', expected: 'Dato[1].\n\n[1] Fuente: INE.' },
    { name: 'at most one blank line between blocks', markdown: '# A\n\n\n\n\nB\n\n\n\n- c', expected: '*A*\n\nB\n\n- c' },
    { name: 'at most one blank line from HTML breaks', markdown: 'uno<br><br><br>dos', expected: 'uno\n\ndos' },
    {
      name: 'Spanish order summary',
      markdown: [
        '¡Hola! 👋 Aquí tienes el resumen de tu pedido **#4521**:',
        '',
        '1. **Producto:** Zapatillas _Running Pro_ 👟',
        '2. **Envío:** estándar (3–5 días)',
        '   - Seguimiento: [ver envío](https://tienda.example.com/envios/4521)',
        '3. **Total:** ~~89,90 €~~ **71,92 €** (-20 %)',
        '',
        '> Recuerda: puedes devolverlo gratis durante 30 días.',
        '',
        '¿Necesitas algo más? 😊',
      ].join('\n'),
      expected: [
        '¡Hola! 👋 Aquí tienes el resumen de tu pedido *#4521*:',
        '',
        '1. *Producto:* Zapatillas _Running Pro_ 👟',
        '2. *Envío:* estándar (3–5 días)',
        '   - Seguimiento: ver envío (https://tienda.example.com/envios/4521)',
        '3. *Total:* ~89,90 €~ *71,92 €* (-20 %)',
        '',
        '> Recuerda: puedes devolverlo gratis durante 30 días.',
        '',
        '¿Necesitas algo más? 😊',
      ].join('\n'),
    },
    {
      name: 'English setup instructions',
      markdown: [
        '## Setting up the CLI',
        '',
        'Install it with npm:',
        '',
        '```bash',
        'npm install -g acme-cli',
        '```',
        '',
        'Then run `acme login`. Config lives in `~/.acme/config.json`; the file_name_format option sets names.',
        '',
        '| Command | What it does |',
        '|---------|--------------|',
        '| `acme init` | Creates a project |',
        '| `acme deploy` | Deploys to **production** 🚀 |',
        '',
        'See the [docs](https://docs.acme.dev/cli) for more.',
      ].join('\n'),
      expected: [
        '*Setting up the CLI*',
        '',
        'Install it with npm:',
        '',
        '```',
        'npm install -g acme-cli',
        '```',
        '',
        `Then run \`acme login\`. Config lives in \`~/.acme/config.json\`; the file${J}_${J}name${J}_${J}format option sets names.`,
        '',
        '- Command: `acme init` · What it does: Creates a project',
        '- Command: `acme deploy` · What it does: Deploys to *production* 🚀',
        '',
        'See the docs (https://docs.acme.dev/cli) for more.',
      ].join('\n'),
    },
    {
      name: 'Portuguese plan list',
      markdown: [
        'Olá! 😀 Seguem as opções de plano:',
        '',
        '* **Básico** — R$ 29,90/mês',
        '* **Premium** — R$ 59,90/mês',
        '    * inclui _suporte prioritário_',
        '    * até 5 usuários 👨‍👩‍👧‍👦',
        '',
        'Para assinar, acesse https://exemplo.com.br/planos ou responda *QUERO*.',
      ].join('\n'),
      expected: [
        'Olá! 😀 Seguem as opções de plano:',
        '',
        '- *Básico* — R$ 29,90/mês',
        '- *Premium* — R$ 59,90/mês',
        '  - inclui _suporte prioritário_',
        '  - até 5 usuários 👨‍👩‍👧‍👦',
        '',
        'Para assinar, acesse https://exemplo.com.br/planos ou responda _QUERO_.',
      ].join('\n'),
    },
  ])('$name', ({ markdown, expected }) => {
    expect(markdownToWhatsApp(markdown)).toBe(expected);
  });

  it('shows absurdly deep nesting as text instead of overflowing the stack', () => {
    for (const markdown of [`${'>'.repeat(20_000)} hola`, `${'> '.repeat(3_000)}hola`, `${'- '.repeat(1_000)}hola`]) {
      expect(markdownToWhatsApp(markdown)).toBe(markdown);
    }
  });

  it('renders nesting as deep as an answer could mean it', () => {
    expect(markdownToWhatsApp('> > > hola')).toBe('> > > hola');
    expect(markdownToWhatsApp('----')).toBe('──────────');
  });

  it('never throws, and answers trimmed text with closed code blocks and single blank lines', () => {
    fc.assert(
      fc.property(fc.oneof(markdownish(), fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary' })), (markdown) => {
        const whatsApp = markdownToWhatsApp(markdown);
        expect(whatsApp).toBe(whatsApp.trim());
        const pieces = whatsApp.split(FENCE);
        expect(pieces.length % 2).toBe(1);
        const prose = pieces.filter((_, index) => index % 2 === 0);
        for (const piece of prose) expect(piece).not.toMatch(/\n[^\S\n]*\n[^\S\n]*\n/);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Strings made of the pieces of Markdown an LLM writes, in any order. */
function markdownish(): fc.Arbitrary<string> {
  const piece = fc.constantFrom(
    '*', '**', '_', '~', '~~', '`', '``', '```\n', '~~~\n', '    ', '# ', '> ', '- ', '1. ', '| a | b |\n|---|---|\n', '| c |',
    '[x](http://y.io/a_b)', '[y]', '[y]: http://z.io', '![i](http://i.io)', '<b>', '</b>', '<!--', '-->', '<br>', '&amp;', '\\',
    '[^1]', '[^1]: n', '\n', '\n\n', ' ', 'palabra', 'ñ', '👨‍👩‍👧‍👦', 'https://x.io/a_b', 'a@b.co', '.', '!',
  );
  return fc.string({ unit: piece, maxLength: 200 });
}
