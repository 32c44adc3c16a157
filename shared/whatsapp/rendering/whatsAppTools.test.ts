import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReply } from './renderReply.js';
import { BUTTON_OPTION_FIELDS, HANDOFF_TOOL, WHATSAPP_TOOL_PARAMETERS, type ToolParameter } from './whatsAppTools.js';

const EXAMPLE = new URL('../../../examples/adk-agent/whatsapp_agent/', import.meta.url);
const toolsSource = readFileSync(new URL('whatsapp_tools.py', EXAMPLE), 'utf8');
const agentSource = readFileSync(new URL('agent.py', EXAMPLE), 'utf8');

/** Splits at commas outside brackets: `a: list[Option], b: Optional[str] = None`. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if ('[('.includes(char)) depth += 1;
    if ('])'.includes(char)) depth -= 1;
    if (char === ',' && depth === 0) {
      pieces.push(current);
      current = '';
    } else current += char;
  }
  return [...pieces, current].map((piece) => piece.trim()).filter(Boolean);
}

/** The type the model is told to produce, from a Python annotation; a default makes it optional. */
function parameterOf(annotation: string, hasDefault: boolean): ToolParameter {
  const inner = /^Optional\[(.+)\]$/.exec(annotation)?.[1] ?? annotation.replace(/\s*\|\s*None$/, '');
  const type = inner === 'str' ? 'string' : ['float', 'int'].includes(inner) ? 'number' : /^list\[/.test(inner) ? 'array' : `python ${inner}`;
  return { type: type as ToolParameter['type'], required: !hasDefault };
}

/** Each top-level `def` of the example: its parameters by name. */
function pythonFunctions(source: string): Record<string, Record<string, ToolParameter>> {
  const functions: Record<string, Record<string, ToolParameter>> = {};
  for (const match of source.matchAll(/^def (\w+)\(([^)]*)\)\s*->[^:]+:/gm)) {
    const parameters: Record<string, ToolParameter> = {};
    for (const declaration of splitTopLevel(match[2]!)) {
      const [, name, annotation, fallback] = /^(\w+)\s*:\s*([^=]+?)\s*(=\s*.+)?$/.exec(declaration) ?? [];
      if (!name || !annotation) throw new Error(`cannot read the parameter "${declaration}" of ${match[1]}`);
      parameters[name] = parameterOf(annotation, fallback !== undefined);
    }
    functions[match[1]!] = parameters;
  }
  return functions;
}

/** The fields of a pydantic model: `title: str = Field(...)`. */
function pythonModelFields(source: string, model: string): Record<string, ToolParameter> {
  const body = new RegExp(`^class ${model}\\(BaseModel\\):\\n((?:[ \\t]+.*\\n|\\n)+)`, 'm').exec(source)?.[1] ?? '';
  const fields: Record<string, ToolParameter> = {};
  for (const [, name, annotation, rest] of body.matchAll(/^ {4}(\w+)\s*:\s*([^=\n]+?)\s*(=.*)?$/gm)) {
    const hasDefault = rest !== undefined && !/Field\(\s*description=/.test(rest);
    fields[name!] = parameterOf(annotation!, hasDefault);
  }
  return fields;
}

describe('the example ADK agent declares the tools the bridge renders', () => {
  it('with the same names, parameters, types and required ones', () => {
    expect(pythonFunctions(toolsSource)).toEqual(WHATSAPP_TOOL_PARAMETERS);
  });

  it('with options as a list of {title, id?, description?}', () => {
    expect(/\boptions: list\[Option\]/.test(toolsSource)).toBe(true);
    expect(pythonModelFields(toolsSource, 'Option')).toEqual(BUTTON_OPTION_FIELDS);
  });

  it('and gives every one of them to the agent', () => {
    const tools = /tools=\[([^\]]*)\]/.exec(agentSource)?.[1]?.split(',').map((name) => name.trim()).filter(Boolean);
    expect(tools?.sort()).toEqual(Object.keys(WHATSAPP_TOOL_PARAMETERS).sort());
  });

  it('tells the agent how a tap comes back', () => {
    expect(agentSource).toContain('[option id: <id>]');
  });
});

describe('the renderers read the declared parameters', () => {
  const validArgs: Record<string, Record<string, unknown>> = {
    whatsapp_buttons: { text: 'Pick', options: ['A', 'B'] },
    whatsapp_media: { url: 'https://x.test/a.pdf', type: 'document' },
    whatsapp_location: { latitude: 1, longitude: 2 },
    whatsapp_link: { text: 'Pay', url: 'https://x.test', label: 'Pay' },
  };
  const rendered = Object.entries(WHATSAPP_TOOL_PARAMETERS).filter(([tool]) => tool !== HANDOFF_TOOL);

  it.each(rendered)('%s: a call without arguments names each required one as missing', (tool, parameters) => {
    const { problems } = renderReply([{ kind: 'tool_call', name: tool, args: {} }], { maxTextChars: 4096 });
    const required = Object.entries(parameters).flatMap(([name, p]) => (p.required ? [`${name} is missing`] : []));
    expect(problems).toEqual([{ tool, problems: required }]);
  });

  it.each(rendered)('%s: valid arguments render without problems, and each optional one is read', (tool, parameters) => {
    const render = (args: Record<string, unknown>) => renderReply([{ kind: 'tool_call', name: tool, args }], { maxTextChars: 4096 });
    expect(render(validArgs[tool]!).problems).toEqual([]);
    for (const [name, parameter] of Object.entries(parameters)) {
      if (parameter.required) continue;
      const { problems } = render({ ...validArgs[tool], [name]: { not: 'a string' } });
      expect(problems[0]?.problems[0]).toMatch(new RegExp(`^${name} `));
    }
  });
});
