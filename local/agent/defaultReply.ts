import { isObject } from './aiplatformGrpc.js';
import type { LocalAgentPart, LocalAgentReply } from './localAgent.js';

/** What the local agent reads from a query and what it answers by default. */

export interface AgentMessage {
  text: string;
  inlineData: { mimeType: string; bytes: number }[];
  /** `file_data` parts: Cloud Storage objects the model reads itself. */
  files: { fileUri: string; mimeType: string }[];
}

/** A `file_data` object as the local agent read it back from Cloud Storage. */
export interface ReadFile {
  fileUri: string;
  mimeType: string;
  bytes: number;
  sha256: string;
}

/** `message` is a string or a google.genai Content dict, as AdkApp.async_stream_query accepts. */
export function readMessage(message: unknown): AgentMessage {
  if (typeof message === 'string') return { text: message, inlineData: [], files: [] };
  const parts = isObject(message) && Array.isArray(message.parts) ? message.parts.filter(isObject) : [];
  return {
    text: parts
      .map((part) => (typeof part.text === 'string' ? part.text : ''))
      .filter(Boolean)
      .join('\n'),
    inlineData: parts.flatMap((part) => {
      const blob = part.inline_data ?? part.inlineData;
      if (!isObject(blob)) return [];
      const data = typeof blob.data === 'string' ? blob.data : '';
      return [{ mimeType: String(blob.mime_type ?? blob.mimeType ?? ''), bytes: Buffer.from(data, 'base64').length }];
    }),
    files: parts.flatMap((part) => {
      const file = part.file_data ?? part.fileData;
      if (!isObject(file)) return [];
      return [{ fileUri: String(file.file_uri ?? file.fileUri ?? ''), mimeType: String(file.mime_type ?? file.mimeType ?? '') }];
    }),
  };
}

/**
 * The answer when no test overrides it: a tapped option, a Markdown sample, a WhatsApp tool on its
 * keyword, or an echo with the turn number (and, from an engine other than the first the local
 * agent answers as, that engine's id, so the sandbox shows which agent answered).
 */
export function defaultReply(turn: number, message: AgentMessage, agentLabel?: string, files: readonly ReadFile[] = []): LocalAgentReply {
  const tap = TAPPED_OPTION.exec(message.text);
  if (tap) return `You chose "${tap[1]}" (option id: ${tap[2]}).`;
  if (/\bmarkdown\b/i.test(message.text)) return MARKDOWN_REPLY;
  // With an attachment the answer is what was read from it ("[The user sent a document…]" is no request for the menu).
  const offer = files.length === 0 && message.inlineData.length === 0 ? WHATSAPP_OFFERS.find(({ keyword }) => keyword.test(message.text)) : undefined;
  if (offer) return offer.reply;
  const media = [
    ...message.inlineData.map((blob) => ` [+ ${blob.mimeType}, ${blob.bytes} bytes]`),
    // What a sandbox user compares with the file they sent: the bytes arrived intact.
    ...files.map((file) => ` [+ ${file.mimeType} from ${file.fileUri}: ${file.bytes} bytes, sha256 ${file.sha256}]`),
  ].join('');
  return `Echo #${turn}${agentLabel ? ` (${agentLabel})` : ''}: ${message.text}${media}`;
}

/** How the bridge passes a tapped button or list row (see decideAction): the title's line, then the id's. */
const TAPPED_OPTION = /([^\n]*)\n\[option id: ([^\]\n]*)\]$/;

/** A keyword in the user's message makes the fake call the matching WhatsApp tool, as an ADK agent with them would. */
const WHATSAPP_OFFERS: { keyword: RegExp; reply: LocalAgentPart[] }[] = [
  {
    keyword: /\bbuttons\b/i,
    reply: [
      { text: 'Sure, here are some buttons.' },
      {
        call: 'whatsapp_buttons',
        args: { text: 'Which size would you like?', options: ['Small', 'Medium', { id: 'size-large', title: 'Large' }] },
      },
    ],
  },
  {
    keyword: /\blist\b/i,
    reply: [
      {
        call: 'whatsapp_buttons',
        args: {
          text: 'When should we deliver?',
          button: 'Pick a day',
          header: 'Delivery',
          footer: 'Free delivery over €20',
          options: [
            { title: 'Monday', description: 'Morning, 9:00–12:00' },
            { title: 'Tuesday', description: 'Afternoon, 14:00–18:00' },
            { title: 'Wednesday' },
            { title: 'Thursday' },
            { id: 'later', title: 'Later this month', description: 'We will ask you again' },
          ],
        },
      },
    ],
  },
  {
    keyword: /\bphoto\b/i,
    reply: [
      { call: 'whatsapp_media', args: { type: 'image', url: 'https://picsum.photos/seed/whatsapp-bridge/640/400', caption: 'Fresh from the oven' } },
      { text: 'Anything else?' },
    ],
  },
  {
    keyword: /\bdocument\b/i,
    reply: [
      { text: 'Here is our menu.' },
      {
        call: 'whatsapp_media',
        args: { type: 'document', url: 'https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf', filename: 'menu.pdf', caption: 'Menu' },
      },
    ],
  },
  {
    keyword: /\blocation\b/i,
    reply: [
      { text: 'We are here:' },
      { call: 'whatsapp_location', args: { latitude: -34.6037, longitude: -58.3816, name: 'Example Bakery', address: 'Av. Corrientes 1234, Buenos Aires' } },
    ],
  },
  {
    keyword: /\blink\b/i,
    reply: [{ call: 'whatsapp_link', args: { text: 'Order online and skip the queue.', url: 'https://example.com/order', label: 'Order now' } }],
  },
];

const MARKDOWN_REPLY = [
  '# Trip checklist',
  '',
  'Here is **everything** you need, with a few *optional* extras.',
  '',
  '## Before you go',
  '',
  '1. Check your **passport** expiry date',
  '2. Book the airport transfer',
  '   - shared shuttle: cheapest',
  '   - taxi: fastest',
  '3. Download the offline map',
  '',
  '## Useful snippet',
  '',
  '```bash',
  'curl -s "https://api.example.com/flights?from=LIS&to=NYC" | jq .price',
  '```',
  '',
  '| Item | Price | Notes |',
  '| --- | ---: | --- |',
  '| Flight | €420 | economy |',
  '| Hotel | €95/night | breakfast incl. |',
  '',
  '> Tip: keep a copy of your documents offline.',
  '',
  'More at [the travel guide](https://example.com/guide) or ~~the old page~~.',
].join('\n');

