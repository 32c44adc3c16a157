/**
 * What Meta's Graph API accepts in an interactive, media or location message, read from the
 * Cloud API reference (§11) independently of the bridge's renderer: the sandbox refuses what
 * Meta would refuse, and the contract tests hold every rendered payload against it. Lengths
 * are UTF-16 code units, the strictest reading of Meta's "characters".
 */

type Json = Record<string, unknown>;

const HTTP_URL = /^https?:\/\/[^\s/]+/i;
const HTTPS_URL = /^https:\/\/[^\s/]+/i;
const CAPTIONED_MEDIA = new Set(['image', 'video', 'document']);
const MEDIA = new Set(['image', 'video', 'document', 'audio', 'sticker']);

/** Every reason the Graph API would refuse this message content; empty when it is valid. */
export function messageViolations(type: string, content: Json): string[] {
  const problems: string[] = [];
  if (type === 'interactive') checkInteractive(content, problems);
  if (MEDIA.has(type)) checkMedia(type, content, problems);
  if (type === 'location') checkLocation(content, problems);
  return problems;
}

function checkInteractive(interactive: Json, problems: string[]): void {
  const kind = interactive.type;
  const body = isObject(interactive.body) ? interactive.body : undefined;
  const action = isObject(interactive.action) ? interactive.action : undefined;
  checkText('interactive.body.text', body?.text, kind === 'list' ? 4096 : 1024, problems);
  if (interactive.header !== undefined) {
    const header = isObject(interactive.header) ? interactive.header : {};
    if (header.type !== 'text') problems.push('interactive.header.type must be text');
    else checkText('interactive.header.text', header.text, 60, problems);
  }
  if (interactive.footer !== undefined) {
    checkText('interactive.footer.text', isObject(interactive.footer) ? interactive.footer.text : undefined, 60, problems);
  }
  if (!action) {
    problems.push('interactive.action is required');
    return;
  }
  if (kind === 'button') checkButtons(action, problems);
  else if (kind === 'list') checkList(action, problems);
  else if (kind === 'cta_url') checkCtaUrl(interactive, action, problems);
  else problems.push(`interactive.type ${String(kind)} is not one of button, list, cta_url`);
}

function checkButtons(action: Json, problems: string[]): void {
  const buttons = Array.isArray(action.buttons) ? action.buttons : [];
  if (buttons.length < 1 || buttons.length > 3) problems.push(`action.buttons must hold 1 to 3 buttons, has ${buttons.length}`);
  const ids: unknown[] = [];
  const titles: unknown[] = [];
  buttons.forEach((button: unknown, index) => {
    const reply = isObject(button) && button.type === 'reply' && isObject(button.reply) ? button.reply : undefined;
    if (!reply) {
      problems.push(`action.buttons[${index}] must be {type: reply, reply: {id, title}}`);
      return;
    }
    checkText(`action.buttons[${index}].reply.id`, reply.id, 256, problems);
    checkText(`action.buttons[${index}].reply.title`, reply.title, 20, problems);
    ids.push(reply.id);
    titles.push(reply.title);
  });
  if (new Set(ids).size !== ids.length) problems.push('button ids must be unique');
  if (new Set(titles).size !== titles.length) problems.push('button titles must be unique');
}

function checkList(action: Json, problems: string[]): void {
  checkText('action.button', action.button, 20, problems);
  const sections = Array.isArray(action.sections) ? action.sections : [];
  if (sections.length < 1 || sections.length > 10) problems.push(`action.sections must hold 1 to 10 sections, has ${sections.length}`);
  const ids: unknown[] = [];
  sections.forEach((section: unknown, sectionIndex) => {
    const where = `action.sections[${sectionIndex}]`;
    if (!isObject(section)) {
      problems.push(`${where} must be an object`);
      return;
    }
    if (section.title !== undefined || sections.length > 1) checkText(`${where}.title`, section.title, 24, problems);
    const rows = Array.isArray(section.rows) ? section.rows : [];
    if (rows.length < 1) problems.push(`${where}.rows must not be empty`);
    rows.forEach((row: unknown, rowIndex) => {
      const at = `${where}.rows[${rowIndex}]`;
      if (!isObject(row)) {
        problems.push(`${at} must be an object`);
        return;
      }
      checkText(`${at}.id`, row.id, 200, problems);
      checkText(`${at}.title`, row.title, 24, problems);
      if (row.description !== undefined) checkText(`${at}.description`, row.description, 72, problems);
      ids.push(row.id);
    });
  });
  if (ids.length > 10) problems.push(`a list holds at most 10 rows, has ${ids.length}`);
  if (new Set(ids).size !== ids.length) problems.push('row ids must be unique');
}

function checkCtaUrl(interactive: Json, action: Json, problems: string[]): void {
  if (interactive.header !== undefined && !isObject(interactive.header)) problems.push('interactive.header must be an object');
  if (action.name !== 'cta_url') problems.push('action.name must be cta_url');
  const parameters = isObject(action.parameters) ? action.parameters : {};
  checkText('action.parameters.display_text', parameters.display_text, 20, problems);
  if (typeof parameters.url !== 'string' || !HTTP_URL.test(parameters.url)) problems.push('action.parameters.url must be an http(s) URL');
}

function checkMedia(type: string, media: Json, problems: string[]): void {
  const hasId = typeof media.id === 'string' && media.id !== '';
  if (!hasId && (typeof media.link !== 'string' || !HTTPS_URL.test(media.link))) problems.push(`${type}.link must be an https URL`);
  if (media.caption !== undefined) {
    if (!CAPTIONED_MEDIA.has(type)) problems.push(`${type} takes no caption`);
    else checkText(`${type}.caption`, media.caption, 1024, problems);
  }
  if (media.filename !== undefined && type !== 'document') problems.push(`${type} takes no filename`);
}

function checkLocation(location: Json, problems: string[]): void {
  const { latitude, longitude } = location;
  if (typeof latitude !== 'number' || !(Math.abs(latitude) <= 90)) problems.push('location.latitude must be a number in [-90, 90]');
  if (typeof longitude !== 'number' || !(Math.abs(longitude) <= 180)) problems.push('location.longitude must be a number in [-180, 180]');
}

function checkText(field: string, value: unknown, maxLength: number, problems: string[]): void {
  if (typeof value !== 'string' || value.trim() === '') problems.push(`${field} is required`);
  else if (value.length > maxLength) problems.push(`${field} must be at most ${maxLength} characters, has ${value.length}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
