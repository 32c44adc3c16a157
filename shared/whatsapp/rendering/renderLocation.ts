import * as z from 'zod';
import { readToolArg } from './readToolArg.js';
import { renderText } from './renderText.js';
import type { RenderOptions, ToolRendering } from './toolRendering.js';

const nonEmpty = z.string().trim().min(1, 'is empty');
// Models sometimes quote numbers: "-34.6" is read as -34.6.
const coordinate = (limit: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() ? Number(value) : value),
    z
      .number({ error: 'is not a number' })
      .refine(Number.isFinite, 'is not a number')
      .refine((value) => Math.abs(value) <= limit, `is not between -${limit} and ${limit}`),
  );

/**
 * `whatsapp_location(latitude, longitude, name?, address?)`: a location pin. Bad coordinates
 * leave only the name and address, sent as text.
 */
export function renderLocation(args: Record<string, unknown>, options: RenderOptions): ToolRendering {
  const problems: string[] = [];
  const latitude = readToolArg(args, 'latitude', coordinate(90), problems);
  const longitude = readToolArg(args, 'longitude', coordinate(180), problems);
  const name = readToolArg(args, 'name', nonEmpty, problems, { optional: true });
  const address = readToolArg(args, 'address', nonEmpty, problems, { optional: true });
  if (latitude === undefined || longitude === undefined) {
    const place = [name, address].filter(Boolean).join('\n');
    return { messages: place ? renderText(place, options.maxTextChars) : [], problems };
  }
  return {
    messages: [
      {
        type: 'location',
        location: { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) },
      },
    ],
    problems,
  };
}
