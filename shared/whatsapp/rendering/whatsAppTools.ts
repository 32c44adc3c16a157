/**
 * The tools whose calls the bridge renders, with their parameters: the contract an agent
 * declares its tools by (examples/adk-agent does; a test holds it to this list).
 */
export interface ToolParameter {
  type: 'string' | 'number' | 'array';
  required: boolean;
}

const required = (type: ToolParameter['type']): ToolParameter => ({ type, required: true });
const optional = (type: ToolParameter['type']): ToolParameter => ({ type, required: false });

export const WHATSAPP_TOOL_PARAMETERS = {
  whatsapp_buttons: {
    text: required('string'),
    options: required('array'),
    button: optional('string'),
    header: optional('string'),
    footer: optional('string'),
  },
  whatsapp_media: { url: required('string'), type: required('string'), caption: optional('string'), filename: optional('string') },
  whatsapp_location: {
    latitude: required('number'),
    longitude: required('number'),
    name: optional('string'),
    address: optional('string'),
  },
  whatsapp_link: { text: required('string'), url: required('string'), label: required('string') },
  handoff_to_human: { reason: optional('string') },
} satisfies Record<string, Record<string, ToolParameter>>;

/** The fields of one option of `whatsapp_buttons` when it is not a plain string. */
export const BUTTON_OPTION_FIELDS = { title: required('string'), id: optional('string'), description: optional('string') };

export const HANDOFF_TOOL = 'handoff_to_human';
