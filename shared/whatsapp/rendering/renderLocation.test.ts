import { describe, expect, it } from 'vitest';
import { renderLocation } from './renderLocation.js';

const render = (args: Record<string, unknown>) => renderLocation(args, { maxTextChars: 4096 });

describe('renderLocation', () => {
  it('renders a pin with name and address', () => {
    expect(render({ latitude: 51.5033635, longitude: -0.1276248, name: 'Office', address: '10 Example St' })).toEqual({
      messages: [{ type: 'location', location: { latitude: 51.5033635, longitude: -0.1276248, name: 'Office', address: '10 Example St' } }],
      problems: [],
    });
  });

  it.each([
    { latitude: 90, longitude: 180 },
    { latitude: -90, longitude: -180 },
    { latitude: 0, longitude: 0 },
    { latitude: '-34.6', longitude: ' -58.38 ' },
  ])('accepts the coordinates $latitude, $longitude', ({ latitude, longitude }) => {
    const { messages, problems } = render({ latitude, longitude });
    expect(problems).toEqual([]);
    expect(messages).toEqual([{ type: 'location', location: { latitude: Number(latitude), longitude: Number(longitude) } }]);
  });

  it.each([
    { args: { latitude: 90.0001, longitude: 0 }, problem: 'latitude is not between -90 and 90' },
    { args: { latitude: -91, longitude: 0 }, problem: 'latitude is not between -90 and 90' },
    { args: { latitude: 0, longitude: 180.5 }, problem: 'longitude is not between -180 and 180' },
    { args: { latitude: 0, longitude: -181 }, problem: 'longitude is not between -180 and 180' },
    { args: { latitude: 'north', longitude: 0 }, problem: 'latitude is not a number' },
    { args: { latitude: '', longitude: 0 }, problem: 'latitude is not a number' },
    { args: { longitude: 0 }, problem: 'latitude is missing' },
    { args: { latitude: true, longitude: 0 }, problem: 'latitude is not a number' },
  ])('refuses $args: name and address go as text', ({ args, problem }) => {
    expect(render({ ...args, name: 'Office', address: '10 Example St' })).toEqual({
      messages: [{ type: 'text', text: { body: 'Office\n10 Example St', preview_url: false } }],
      problems: [problem],
    });
  });

  it('refuses bad coordinates without a name: nothing to send', () => {
    expect(render({ latitude: 100, longitude: 0 }).messages).toEqual([]);
  });
});
