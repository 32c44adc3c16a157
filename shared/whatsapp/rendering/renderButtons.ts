import * as z from 'zod';
import { interactiveBody } from './interactiveBody.js';
import type { OutboundMessage } from '../outboundMessage.js';
import { makeOptionIds } from './makeOptionIds.js';
import { makeTitlesUnique } from './makeTitlesUnique.js';
import { readToolArg } from './readToolArg.js';
import { renderText } from './renderText.js';
import { shortenText } from './shortenText.js';
import type { RenderOptions, ToolRendering } from './toolRendering.js';
import { WHATSAPP_LIMITS as LIMITS } from './whatsAppLimits.js';

export const DEFAULT_LIST_BUTTON_LABEL = 'Choose an option';

interface Option {
  id?: string;
  title: string;
  description?: string;
}

const nonEmpty = z.string().trim().min(1, 'is empty');
const scalar = z.union([z.string(), z.number()]).transform(String).pipe(nonEmpty);
const optionSchema = z.union([
  scalar.transform((title): Option => ({ title })),
  z
    .object({ id: scalar.optional().catch(undefined), title: scalar, description: z.string().trim().optional().catch(undefined) })
    .transform(({ id, title, description }): Option => ({ title, ...(id ? { id } : {}), ...(description ? { description } : {}) })),
]);

/**
 * `whatsapp_buttons(text, options, button?, header?, footer?)`: up to 3 options become reply
 * buttons, up to 10 a list (labelled `button`), more a numbered text naming every option.
 * Without a text or with unreadable options it falls back to the text it can still send.
 */
export function renderButtons(args: Record<string, unknown>, options: RenderOptions): ToolRendering {
  const problems: string[] = [];
  const text = readToolArg(args, 'text', nonEmpty, problems);
  const choices = readOptions(args.options, problems);
  const header = readToolArg(args, 'header', nonEmpty, problems, { optional: true });
  const footer = readToolArg(args, 'footer', nonEmpty, problems, { optional: true });
  const label = readToolArg(args, 'button', nonEmpty, problems, { optional: true });

  if (choices.length === 0) return { messages: text ? renderText(text, options.maxTextChars) : [], problems };
  if (!text || choices.length > LIMITS.maxRows) {
    return { messages: renderText(numberedText(choices, text, header, footer), options.maxTextChars), problems };
  }
  const frame = {
    ...(header ? { header: { type: 'text' as const, text: shortenText(header, LIMITS.headerText) } } : {}),
    body: interactiveBody(text),
    ...(footer ? { footer: { text: shortenText(footer, LIMITS.footerText) } } : {}),
  };
  const message: OutboundMessage =
    choices.length <= LIMITS.maxButtons
      ? { type: 'interactive', interactive: { type: 'button', ...frame, action: { buttons: replyButtons(choices) } } }
      : {
          type: 'interactive',
          interactive: {
            type: 'list',
            ...frame,
            action: {
              button: shortenText(label ?? DEFAULT_LIST_BUTTON_LABEL, LIMITS.listButtonLabel),
              sections: [{ rows: listRows(choices) }],
            },
          },
        };
  return { messages: [message], problems };
}

function readOptions(value: unknown, problems: string[]): Option[] {
  if (value === undefined || value === null) {
    problems.push('options is missing');
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push('options is not a list');
    return [];
  }
  const choices: Option[] = [];
  value.forEach((entry, index) => {
    const parsed = optionSchema.safeParse(entry);
    if (parsed.success) choices.push(parsed.data);
    else problems.push(`options[${index}] is neither a text nor {id?, title, description?}`);
  });
  if (value.length === 0) problems.push('options is empty');
  return choices;
}

function replyButtons(choices: Option[]) {
  const titles = makeTitlesUnique(
    choices.map((choice) => choice.title),
    LIMITS.buttonTitle,
  );
  const ids = makeOptionIds(choices, LIMITS.buttonId);
  return choices.map((_, index) => ({ type: 'reply' as const, reply: { id: ids[index]!, title: titles[index]! } }));
}

function listRows(choices: Option[]) {
  const titles = makeTitlesUnique(
    choices.map((choice) => choice.title),
    LIMITS.rowTitle,
  );
  const ids = makeOptionIds(choices, LIMITS.rowId);
  return choices.map((choice, index) => ({
    id: ids[index]!,
    title: titles[index]!,
    ...(choice.description ? { description: shortenText(choice.description, LIMITS.rowDescription) } : {}),
  }));
}

function numberedText(choices: Option[], text?: string, header?: string, footer?: string): string {
  const lines = choices.map(
    (choice, index) => `${index + 1}. ${choice.title}${choice.description ? ` — ${choice.description}` : ''}`,
  );
  return [header, text, lines.join('\n'), footer].filter(Boolean).join('\n\n');
}
