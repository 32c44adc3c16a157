import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { markdownToWhatsApp } from './markdownToWhatsApp.js';
import { splitMessage } from './splitMessage.js';

const FENCE = '```';
const FAMILY = '👨‍👩‍👧‍👦';
const MARKUP = new Set(['*', '_', '~', '`']);

/** The text's non-whitespace characters all arrive, in order; only markup may be added. */
function expectContentPreserved(original: string, chunks: readonly string[]): void {
  const expected = [...original.replace(/\s+/g, '')];
  const received = [...chunks.join('').replace(/\s+/g, '')];
  let matched = 0;
  const added: string[] = [];
  for (const character of received) {
    if (character === expected[matched]) matched++;
    else added.push(character);
  }
  expect(matched).toBe(expected.length);
  expect(added.filter((character) => !MARKUP.has(character))).toEqual([]);
}

/** Every fence closes in its chunk, and outside code each line pairs its markers. */
function expectBalancedMarkup(chunk: string): void {
  const pieces = chunk.split(FENCE);
  expect(pieces.length % 2, `unclosed code block in ${JSON.stringify(chunk)}`).toBe(1);
  const prose = pieces.filter((_, index) => index % 2 === 0).join('\n');
  for (const line of prose.split('\n')) {
    const markup = line
      .replace(/https?:\/\/[^\s)*]+/g, '')
      .replace(/[*_~`]\u2060/g, '')
      .replace(/`[^`]*`/g, '');
    for (const marker of ['*', '_', '~']) {
      expect(markup.split(marker).length % 2, `unpaired ${marker} in ${JSON.stringify(line)}`).toBe(1);
    }
  }
}

function expectValidChunks(text: string, chunks: readonly string[], maxChars: number): void {
  for (const chunk of chunks) {
    expect(chunk.length).toBeLessThanOrEqual(maxChars);
    expect(chunk).not.toBe('');
    expect(chunk).toBe(chunk.trim());
    expect(chunk).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  }
  expectContentPreserved(text, chunks);
}

describe('splitMessage', () => {
  it.each([
    { name: 'empty text', text: ' \n ', maxChars: 4096, expected: [] },
    { name: 'text that fits, trimmed', text: '  Hola 👋  ', maxChars: 4096, expected: ['Hola 👋'] },
    {
      name: 'paragraph breaks first, then sentences',
      text: 'Primer párrafo corto.\n\nSegundo párrafo, algo más largo que el primero. Con dos frases.',
      maxChars: 60,
      expected: ['Primer párrafo corto.', 'Segundo párrafo, algo más largo que el primero.', 'Con dos frases.'],
    },
    {
      name: 'a heading stays with its section',
      text: 'Intro del mensaje.\n\n*Título*\n\nCuerpo de la sección.',
      maxChars: 40,
      expected: ['Intro del mensaje.', '*Título*\n\nCuerpo de la sección.'],
    },
    {
      name: 'line breaks',
      text: 'Línea uno del mensaje\nLínea dos del mensaje\nLínea tres del mensaje',
      maxChars: 50,
      expected: ['Línea uno del mensaje\nLínea dos del mensaje', 'Línea tres del mensaje'],
    },
    {
      name: 'sentence ends before plain word breaks',
      text: 'This is the first sentence, short. And this is the second one, rather long.',
      maxChars: 50,
      expected: ['This is the first sentence, short.', 'And this is the second one, rather long.'],
    },
    {
      name: 'word breaks when nothing better fits',
      text: 'Sem pontuação alguma aqui só palavras que seguem e seguem sem parar nunca',
      maxChars: 40,
      expected: ['Sem pontuação alguma aqui só palavras', 'que seguem e seguem sem parar nunca'],
    },
    {
      name: 'never inside a formatting span',
      text: 'Texto previo con palabras y luego *una parte en negrita* al final',
      maxChars: 45,
      expected: ['Texto previo con palabras y luego', '*una parte en negrita* al final'],
    },
    {
      name: 'never inside inline code',
      text: 'Run the command `npm run build --workspace api` now',
      maxChars: 40,
      expected: ['Run the command', '`npm run build --workspace api` now'],
    },
    {
      name: 'a span longer than a message is closed and reopened',
      text: '*una negrita muy larga que no cabe en un solo mensaje de treinta y dos*',
      maxChars: 32,
      expected: ['*una negrita muy larga que no*', '*cabe en un solo mensaje de*', '*treinta y dos*'],
    },
    {
      name: 'a code block that fits moves whole to the next message',
      text: 'Aquí está el código:\n```\nconst a = 1;\nconst b = 2;\n```',
      maxChars: 40,
      expected: ['Aquí está el código:', '```\nconst a = 1;\nconst b = 2;\n```'],
    },
    {
      name: 'a long code block is cut between lines, closed and reopened',
      text: 'Código:\n\n```\nlinea_1 = 1\nlinea_2 = 2\nlinea_3 = 3\n  linea_4 = 4\n```\nFin.',
      maxChars: 40,
      expected: ['Código:', '```\nlinea_1 = 1\nlinea_2 = 2\n```', '```\nlinea_3 = 3\n  linea_4 = 4\n```\nFin.'],
    },
    {
      name: 'a code line longer than a message is cut inside, still fenced',
      text: `Intro.\n\n\`\`\`\n${'a'.repeat(70)}\n\`\`\``,
      maxChars: 40,
      expected: ['Intro.', `\`\`\`\n${'a'.repeat(32)}\n\`\`\``, `\`\`\`\n${'a'.repeat(32)}\n\`\`\``, '```\naaaaaa\n```'],
    },
    {
      name: 'a huge word is cut before a URL rather than inside it',
      text: `${'x'.repeat(50)}https://example.com/abc`,
      maxChars: 60,
      expected: ['x'.repeat(50), 'https://example.com/abc'],
    },
    {
      name: 'emoji ZWJ sequences are never cut',
      text: FAMILY.repeat(10),
      maxChars: 32,
      expected: Array.from({ length: 5 }, () => FAMILY.repeat(2)),
    },
  ])('$name', ({ text, maxChars, expected }) => {
    const chunks = splitMessage(text, maxChars);
    expect(chunks).toEqual(expected);
    expectValidChunks(text, chunks, maxChars);
  });

  it('refuses a limit too small to hold a reopened code block', () => {
    expect(() => splitMessage('hola', 31)).toThrow(RangeError);
    expect(() => splitMessage('hola', 100.5)).toThrow(RangeError);
  });

  it('sends a 10,000-character answer as ordered chunks of at most 4096 with balanced markup', () => {
    const markdown = longAgentAnswer();
    expect(markdown.length).toBeGreaterThanOrEqual(10_000);
    const whatsApp = markdownToWhatsApp(markdown);
    const chunks = splitMessage(whatsApp);

    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expectValidChunks(whatsApp, chunks, 4096);
    for (const chunk of chunks) expectBalancedMarkup(chunk);
    expect(chunks.join('').split(FENCE).length, 'the long code block is closed and reopened').toBeGreaterThan(whatsApp.split(FENCE).length);
    expect(chunks.filter((chunk) => chunk.endsWith('*Resumen de tu consulta 📋*'))).toEqual([]);
    expect(chunks[0]).toMatch(/^\*Resumen de tu consulta 📋\*/);
    expect(chunks.at(-1)).toMatch(/Qualquer dúvida, estou aqui! 🙌$/);
  });

  it('keeps every chunk within the limit, non-empty, in order, whole graphemes, balanced markup', () => {
    fc.assert(
      fc.property(whatsAppText(), fc.integer({ min: 32, max: 300 }), (text, maxChars) => {
        const chunks = splitMessage(text, maxChars);
        expectValidChunks(text, chunks, maxChars);
        for (const chunk of chunks) expectBalancedMarkup(chunk);
        for (const emoji of [FAMILY, '🇪🇸']) {
          expect(chunks.join(' ').split(emoji).length).toBe(text.split(emoji).length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('splits any converted Markdown answer into valid chunks with balanced markup', () => {
    fc.assert(
      fc.property(markdownAnswer(), fc.integer({ min: 32, max: 400 }), (markdown, maxChars) => {
        const whatsApp = markdownToWhatsApp(markdown);
        const chunks = splitMessage(whatsApp, maxChars);
        expectValidChunks(whatsApp, chunks, maxChars);
        for (const chunk of chunks) expectBalancedMarkup(chunk);
      }),
      { numRuns: 300 },
    );
  });

  it('handles arbitrary text the same way', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 32, max: 120 }), (text, maxChars) => {
        expectValidChunks(text, splitMessage(text, maxChars), maxChars);
      }),
      { numRuns: 500 },
    );
  });
});

function whatsAppText(): fc.Arbitrary<string> {
  const word = fc.constantFrom('hola', 'mundo', 'ação', 'niño', 'über', 'the', 'quick', '👍', FAMILY, '🇪🇸', 'x'.repeat(45));
  const words = fc.array(word, { minLength: 1, maxLength: 8 }).map((list) => list.join(' '));
  const piece = fc.oneof(
    word,
    fc.tuple(fc.constantFrom('*', '_', '~', '`'), words).map(([marker, inner]) => marker + inner + marker),
    fc.tuple(word, fc.constantFrom('.', '!', '?', ':')).map(([last, end]) => last + end),
    fc.constantFrom('https://example.com/a_b_c', 'www.example.org/x?q=1', '\n', '\n\n', '- '),
    fc.array(words, { minLength: 1, maxLength: 6 }).map((lines) => `${FENCE}\n${lines.join('\n')}\n${FENCE}`),
  );
  return fc.array(piece, { maxLength: 60 }).map((pieces) => pieces.join(' '));
}

function markdownAnswer(): fc.Arbitrary<string> {
  const word = fc.constantFrom(
    ...['Hola', 'mundo', '**negrita**', '_cursiva_', '~~antes~~', '`npm test`', '2*3', 'snake_case', 'fim.'],
    ...['[docs](https://x.io/a_b)', 'https://x.io', '🇧🇷', FAMILY],
  );
  const text = fc.array(word, { minLength: 1, maxLength: 20 }).map((words) => words.join(' '));
  const block = fc.oneof(
    text,
    text.map((line) => `## ${line}`),
    fc.array(text, { minLength: 1, maxLength: 5 }).map((items) => items.map((item, index) => `${'  '.repeat(index % 2)}- ${item}`).join('\n')),
    fc.array(text, { minLength: 1, maxLength: 5 }).map((items) => items.map((item, index) => `${index + 1}. ${item}`).join('\n')),
    text.map((line) => `> ${line}`),
    fc.array(text, { minLength: 1, maxLength: 12 }).map((lines) => `\`\`\`js\n${lines.join('\n')}\n\`\`\``),
    fc
      .array(text, { minLength: 2, maxLength: 4 })
      .map((cells) => ['| a | b |', '|---|---|', ...cells.map((cell) => `| ${cell} | ${cell} |`)].join('\n')),
  );
  return fc.array(block, { maxLength: 12 }).map((blocks) => blocks.join('\n\n'));
}

function longAgentAnswer(): string {
  const spanish = [
    '## Resumen de tu consulta 📋',
    '',
    'Gracias por escribirnos, **María**. He revisado tu cuenta y estos son los puntos principales. ' +
      'Tu plan actual es el _Plan Hogar 300 Mb_, contratado el 12 de marzo, y la próxima factura se emite el día 1. ' +
      'Si quieres cambiar de tarifa, puedes hacerlo sin permanencia desde la app o respondiendo a este mensaje.',
    '',
    '1. **Facturación**',
    '   - Importe mensual: ~~45,00 €~~ **38,50 €** con el descuento de bienvenida 🎉',
    '   - Método de pago: domiciliación bancaria',
    '2. **Conexión**',
    '   - Velocidad contratada: 300 Mb simétricos',
    '   - Última incidencia: resuelta el 3 de abril',
    '',
    '| Servicio | Estado | Precio |',
    '|---|---|---|',
    '| Fibra | Activo ✅ | 30 € |',
    '| Móvil | Activo ✅ | 8,50 € |',
    '',
    '> Consejo: reinicia el router una vez al mes para mantener la velocidad.',
    '',
    'Más información en [nuestra web](https://www.example.es/ayuda/facturas).',
  ].join('\n');
  const english = [
    '### How to export your data',
    '',
    'You can export everything from **Settings → Privacy → Export**. The export is a ZIP file with one ' +
      'CSV per table; large accounts may take a few minutes. We will e-mail you a link that stays valid ' +
      'for 7 days. Keep it private: anyone with the link can download the file.',
    '',
    '- Step one: open *Settings*',
    '- Step two: choose the tables',
    '  - `orders` and `customers` are selected by default',
    '  - `audit_log` is optional',
    '- Step three: press **Export** and wait for the e-mail 📧',
  ].join('\n');
  const codeLines = Array.from({ length: 110 }, (_, line) => `total_${line} = sum(row["amount"] for row in rows[${line}])  # lote ${line}`);
  const code = ['```python', ...codeLines, '```'].join('\n');
  const portuguese = [
    '#### Próximos passos',
    '',
    'Se preferir, posso *agendar uma visita técnica* para amanhã entre 9h e 13h. ' +
      'Basta responder com **SIM** e confirmar o endereço. Veja também https://exemplo.com.br/suporte.',
    '',
    'Qualquer dúvida, estou aqui! 🙌',
  ].join('\n');
  return [spanish, english, spanish, english, code, spanish, english, spanish, english, portuguese].join('\n\n');
}
