import { parseMarkup } from './whatsappMarkup.js';

/**
 * The sandbox chat page. Every action goes to the sandbox, which turns it into the webhook Meta
 * would send; everything shown comes back over /events, so a reload replays the same conversation.
 * Text is only ever put into the DOM as text nodes.
 */

const TYPING_LIMIT_MS = 25_000;
const REACTIONS = ['👍', '❤️', '😂', '😮', '🙏'];
const USER_KEY = 'whatsapp-sandbox-user';
/** Per tab: two tabs show two business numbers side by side. */
const NUMBER_KEY = 'whatsapp-sandbox-business-number';

const $ = (selector) => document.querySelector(selector);
const messagesEl = $('#messages');
const typingEl = $('#typing');
const textEl = $('#text');

const events = [];
/** Chats where staff wrote from the Business app and the bot has not handled a message since (it would mark it read). */
const pausedChats = new Set();
/** wamid or bot message id → what a quote or a read receipt needs to know about it. */
const messages = new Map();
let user = loadUser();
/** The business number written to and shown (several when the stack runs AGENT_ENGINE_BY_NUMBER). */
let businessNumber = loadBusinessNumber();
let replyTo;
let typingTimer;

function loadUser() {
  const saved = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null');
  if (saved?.phone) return saved;
  const first = document.querySelector('#chats [data-phone]');
  return { phone: first?.dataset.phone ?? '5491155550001', name: first?.dataset.name ?? 'Ana Pérez' };
}

function loadBusinessNumber() {
  const options = [...document.querySelectorAll('#business-number option')].map((option) => option.value);
  const saved = sessionStorage.getItem(NUMBER_KEY);
  const chosen = options.includes(saved) ? saved : options[0];
  if (chosen) $('#business-number').value = chosen;
  return chosen;
}

/** Events of another business number's conversations stay out of this view. */
function otherNumber(event) {
  const number = event.phoneNumberId ?? messages.get(event.wamid ?? event.messageId ?? event.id)?.phoneNumberId;
  return number !== undefined && businessNumber !== undefined && number !== businessNumber;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

function renderMarkup(nodes) {
  const tags = { bold: 'strong', italic: 'em', strike: 's', paragraph: 'p', quote: 'blockquote', item: 'li' };
  return nodes.map((node) => {
    switch (node.type) {
      case 'text':
        return document.createTextNode(node.text);
      case 'break':
        return el('br');
      case 'code':
        return el('code', {}, node.text);
      case 'pre':
        return el('pre', {}, el('code', {}, node.text));
      case 'link':
        return el('a', { href: node.href, target: '_blank', rel: 'noopener noreferrer' }, node.text);
      case 'list':
        return el(node.ordered ? 'ol' : 'ul', { start: node.ordered && node.start !== 1 ? String(node.start) : undefined }, ...renderMarkup(node.children));
      default:
        return el(tags[node.type] ?? 'span', {}, ...renderMarkup(node.children));
    }
  });
}

/** Only web links from the bot become clickable or loadable; anything else (`javascript:`…) is dropped. */
const webUrl = (value) => (typeof value === 'string' && /^https?:\/\//i.test(value) ? value : undefined);
const formatted = (text) => el('div', { class: 'text' }, ...renderMarkup(parseMarkup(text)));
const clock = (time) => new Date(time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function quoteOf(id) {
  const quoted = messages.get(id);
  return el(
    'div',
    { class: 'quoted', dataset: { quotes: id } },
    el('strong', {}, quoted?.fromBot ? 'Agent' : 'You'),
    el('span', {}, quoted?.preview ?? 'Message'),
  );
}

function actions(id, fromBot) {
  const reply = el('button', { type: 'button', class: 'action', title: 'Reply', onclick: () => startReply(id) }, '↩');
  if (!fromBot) return el('div', { class: 'actions' }, reply);
  const picker = el(
    'div',
    { class: 'picker' },
    ...REACTIONS.map((emoji) =>
      el('button', { type: 'button', title: `React ${emoji}`, dataset: { emoji }, onclick: () => react(id, emoji) }, emoji),
    ),
  );
  return el('div', { class: 'actions' }, reply, el('button', { type: 'button', class: 'action react', title: 'React' }, '🙂'), picker);
}

function bubble(id, fromBot, time, content, replyId, extra = {}) {
  return el(
    'li',
    { class: `msg ${fromBot ? 'bot' : 'user'}`, dataset: { id, ...extra } },
    replyId ? quoteOf(replyId) : undefined,
    ...content,
    el('div', { class: 'meta' }, el('time', {}, clock(time)), el('span', { class: 'ticks' })),
    el('div', { class: 'reactions' }),
    actions(id, fromBot),
  );
}

function mediaContent(media) {
  const src = `/api/media/${encodeURIComponent(media.id)}`;
  if (media.mimeType.startsWith('image/')) return el('img', { src, alt: 'Image', class: 'media' });
  if (!media.mimeType.startsWith('audio/')) return el('div', { class: 'document' }, '📄 ', link(src, media.filename ?? 'document'));
  return el('div', { class: 'voice' }, media.voice ? '🎤 ' : '🎵 ', el('audio', { src, controls: true }));
}

const link = (href, ...children) => el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, ...children);

/** What the bot sent, drawn as WhatsApp draws it; media by link loads only from web URLs. */
function botContent(event) {
  const content = event.body[event.type] ?? {};
  const src = webUrl(content.link) ?? `/api/media/${encodeURIComponent(content.id ?? '')}`;
  const caption = content.caption ? formatted(content.caption) : undefined;
  switch (event.type) {
    case 'text':
      return [formatted(event.text ?? '')];
    case 'image':
      return [el('img', { src, alt: content.caption ?? 'Image', class: 'media' }), caption];
    case 'sticker':
      return [el('img', { src, alt: 'Sticker', class: 'media sticker' })];
    case 'video':
      return [el('video', { src, controls: true, class: 'media' }), caption];
    case 'audio':
      return [el('div', { class: 'voice' }, '🎵 ', el('audio', { src, controls: true }))];
    case 'document': {
      const name = content.filename ?? decodeURIComponent(new URL(src, location.href).pathname.split('/').pop() || 'document');
      return [el('div', { class: 'document' }, '📄 ', webUrl(content.link) ? link(content.link, name) : name), caption];
    }
    case 'interactive':
      return interactiveContent(event.id, content);
    case 'location': {
      const map = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(content.latitude)}&mlon=${encodeURIComponent(content.longitude)}#map=17/${encodeURIComponent(content.latitude)}/${encodeURIComponent(content.longitude)}`;
      return [
        el('div', { class: 'location' }, el('span', { class: 'pin' }, '📍'), el('div', {}, content.name ? el('strong', {}, content.name) : undefined, content.address ? el('div', {}, content.address) : undefined, el('small', {}, `${content.latitude}, ${content.longitude}`))),
        link(map, 'Open map'),
      ];
    }
    case 'template':
      return [el('div', { class: 'template-name' }, `📄 ${content.name ?? '?'}`), event.text ? formatted(event.text) : el('div', { class: 'text' }, '')];
    default:
      return [el('div', { class: 'text' }, `[${event.type}] `, webUrl(content.link) ? link(content.link, content.link) : content.caption ?? '')];
  }
}

/** Reply buttons sit under the bubble; a list opens from its button as a sheet of rows; a CTA is a link button. */
function interactiveContent(id, interactive) {
  const header = interactive.header?.text ? el('div', { class: 'header' }, interactive.header.text) : undefined;
  const footer = interactive.footer?.text ? el('div', { class: 'footer' }, interactive.footer.text) : undefined;
  const body = formatted(interactive.body?.text ?? '');
  const tap = (kind, reply) => () => send('/api/button', { user, messageId: id, kind, id: reply.id, title: reply.title });
  const action = interactive.action ?? {};
  if (interactive.type === 'cta_url') {
    const url = webUrl(action.parameters?.url);
    const label = action.parameters?.display_text ?? 'Open';
    return [header, body, footer, el('div', { class: 'choices' }, url ? el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'choice cta' }, `↗ ${label}`) : el('span', { class: 'choice' }, label))];
  }
  if (interactive.type === 'list') {
    const rows = (action.sections ?? []).flatMap((section) => [
      section.title ? el('div', { class: 'section' }, section.title) : undefined,
      ...(section.rows ?? []).map((row) =>
        el('button', { type: 'button', class: 'choice row', dataset: { replyId: row.id }, onclick: tap('list_reply', row) }, row.title, row.description ? el('small', {}, row.description) : undefined),
      ),
    ]);
    const sheet = el('div', { class: 'sheet', hidden: true }, ...rows);
    const opener = el('button', { type: 'button', class: 'choice list-button', onclick: () => (sheet.hidden = !sheet.hidden) }, `☰ ${action.button ?? 'Options'}`);
    return [header, body, footer, el('div', { class: 'choices' }, opener, sheet)];
  }
  const buttons = (action.buttons ?? []).map((button) =>
    el('button', { type: 'button', class: 'choice', dataset: { replyId: button.reply?.id }, onclick: tap('button_reply', button.reply ?? {}) }, button.reply?.title ?? '?'),
  );
  return [header, body, footer, el('div', { class: 'choices' }, ...buttons)];
}

function setStatus(node, status, title) {
  if (!node) return;
  if (node.dataset.status === 'read' && status !== 'failed') return;
  node.dataset.status = status;
  const ticks = node.querySelector('.ticks');
  ticks.textContent = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠' }[status];
  ticks.title = title ?? status;
}

function showReaction(messageId, emoji, fromBot) {
  const target = messagesEl.querySelector(`[data-id="${CSS.escape(messageId)}"] .reactions`);
  if (!target) return;
  target.querySelector(`[data-from="${fromBot ? 'bot' : 'user'}"]`)?.remove();
  if (emoji) target.append(el('span', { dataset: { from: fromBot ? 'bot' : 'user' } }, emoji));
}

function note(text, failed = false) {
  messagesEl.append(el('li', { class: `note${failed ? ' failed' : ''}` }, text));
}

function setTyping(on) {
  clearTimeout(typingTimer);
  typingEl.hidden = !on;
  if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_LIMIT_MS);
}

function phoneOf(event) {
  if (event.phone) return event.phone;
  const id = event.wamid ?? event.messageId;
  return id ? messages.get(id)?.phone : undefined;
}

/** Applies one event: remembers what it says about messages, and draws it if it is in the open chat. */
function apply(event, live) {
  if (event.kind === 'inbound' && event.type !== 'reaction') {
    messages.set(event.wamid, {
      phone: event.phone,
      phoneNumberId: event.phoneNumberId,
      fromBot: false,
      preview: event.text ?? (event.media?.voice ? '🎤 Voice message' : `📎 ${event.type}`),
    });
    addChat(event.phone, event.name);
  }
  if (event.kind === 'sent' && event.type !== 'reaction') {
    messages.set(event.id, { phone: event.phone, phoneNumberId: event.phoneNumberId, fromBot: true, preview: event.text ?? `[${event.type}]` });
  }
  if (event.kind === 'faults') return showFaults(event.pending);
  const phone = phoneOf(event);
  if (event.kind === 'staff') {
    messages.set(event.wamid, { phone: event.phone, fromBot: true, preview: event.text });
    pausedChats.add(event.phone);
  }
  // The bridge sends no read receipt while paused: one means the bot handles this chat again.
  if (event.kind === 'read' && phone) pausedChats.delete(phone);
  if (event.kind === 'reset') pausedChats.clear();
  showHandoff();
  if (otherNumber(event)) return;
  if (phone && phone !== user.phone) {
    if (live && (event.kind === 'sent' || event.kind === 'inbound')) markUnread(phone);
    return;
  }
  draw(event, live);
  if (live) messagesEl.lastElementChild?.scrollIntoView({ block: 'end' });
}

function draw(event, live) {
  switch (event.kind) {
    case 'inbound': {
      if (event.type === 'reaction') return showReaction(event.reaction.messageId, event.reaction.emoji, false);
      const content = event.media ? [mediaContent(event.media), event.text ? formatted(event.text) : undefined] : [formatted(event.text ?? '')];
      const node = bubble(event.wamid, false, event.time, content, event.replyTo);
      messagesEl.append(node);
      return setStatus(node, 'pending');
    }
    case 'delivery': {
      const node = messagesEl.querySelector(`[data-id="${CSS.escape(event.wamid)}"]`);
      if (event.redelivery) note(`↻ Re-delivered the last webhook → ${event.error ?? `HTTP ${event.status}`}`, Boolean(event.error));
      else setStatus(node, event.error ? 'failed' : 'delivered', event.error);
      return;
    }
    case 'read': {
      const node = messagesEl.querySelector(`[data-id="${CSS.escape(event.messageId)}"]`);
      // A read receipt also marks every earlier message of the chat read, as on WhatsApp.
      for (const earlier of messagesEl.querySelectorAll('.msg.user')) {
        if (earlier.dataset.status !== 'failed') setStatus(earlier, 'read');
        if (earlier === node) break;
      }
      if (event.typing && live) setTyping(true);
      return;
    }
    case 'sent':
      if (live) {
        setTyping(false);
        if (user && document.visibilityState === 'visible') void send('/api/read', { user });
      }
      if (event.type === 'reaction') return showReaction(event.body.reaction?.message_id ?? '', event.text, true);
      messagesEl.append(bubble(event.id, true, event.time, botContent(event), event.replyTo, { type: event.type }));
      return;
    case 'graph-failed': {
      const what = `${event.message} · HTTP ${event.status}`;
      if (event.call !== 'send') return note(`${event.call === 'read' ? 'Read receipt / typing' : 'Media download'} failed: ${what}`, true);
      messagesEl.append(
        el('li', { class: 'msg bot failed' }, formatted(event.text ?? `[${event.type ?? 'message'}]`), el('div', { class: 'error' }, `⚠ Not sent: ${what}`)),
      );
      return;
    }
    case 'status': {
      // Ticks driven by the status webhooks the sandbox sent, as Meta reports them to the business.
      const node = messagesEl.querySelector(`.msg.bot[data-id="${CSS.escape(event.messageId)}"]`);
      if (!node) return;
      if (event.status === 'failed') {
        setStatus(node, 'failed', `failed · ${event.code}`);
        node.classList.add('failed');
        node.append(el('div', { class: 'error' }, `⚠ Failed · ${event.code}${event.code === 131047 ? ' (outside the 24-hour window)' : ''}`));
        return;
      }
      if (node.dataset.status !== 'failed') setStatus(node, event.status);
      return;
    }
    case 'staff': {
      const content = [el('div', { class: 'staff-label' }, '👤 Staff (Business app)'), formatted(event.text)];
      const node = bubble(event.wamid, true, event.time, content, undefined, { type: 'staff' });
      node.classList.add('staff');
      messagesEl.append(node);
      return;
    }
    case 'window':
      return note(event.open ? '⏱ The user wrote: the 24-hour window is open again' : '⏱ 24-hour window closed: free-form messages now fail with 131047');
    case 'note':
      return note(event.text);
    case 'reset':
      messagesEl.replaceChildren();
      return;
  }
}

function redraw() {
  messagesEl.replaceChildren();
  setTyping(false);
  for (const event of events) apply(event, false);
  $('#current-user').textContent = `${user.name} (+${user.phone})`;
  for (const chat of document.querySelectorAll('#chats [data-phone]')) {
    const current = chat.dataset.phone === user.phone;
    chat.toggleAttribute('aria-current', current);
    if (current) chat.classList.remove('unread');
  }
  showHandoff();
  messagesEl.lastElementChild?.scrollIntoView({ block: 'end' });
}

function showHandoff() {
  $('#handoff-banner').hidden = !pausedChats.has(user.phone);
}

function addChat(phone, name) {
  if (document.querySelector(`#chats [data-phone="${CSS.escape(phone)}"]`)) return;
  const button = el('button', { type: 'button', class: 'chat-item', dataset: { phone, name } }, el('strong', {}, name), el('small', {}, `+${phone}`));
  $('#chats').prepend(el('li', {}, button));
}

function markUnread(phone) {
  document.querySelector(`#chats [data-phone="${CSS.escape(phone)}"]`)?.classList.add('unread');
}

function selectUser(next) {
  user = next;
  localStorage.setItem(USER_KEY, JSON.stringify(user));
  cancelReply();
  addChat(user.phone, user.name);
  redraw();
  void send('/api/read', { user });
}

function showFaults(pending) {
  $('#pending-faults').replaceChildren(
    ...pending.map((fault) => el('li', {}, `${fault.count}× ${fault.only} → HTTP ${fault.status} · ${fault.code}`)),
  );
}

function startReply(id) {
  replyTo = id;
  $('#reply-text').textContent = messages.get(id)?.preview ?? '';
  $('#reply-preview').hidden = false;
  textEl.focus();
}

function cancelReply() {
  replyTo = undefined;
  $('#reply-preview').hidden = true;
}

let statusTimer;
function flash(text) {
  clearTimeout(statusTimer);
  $('#status').textContent = text;
  statusTimer = setTimeout(() => ($('#status').textContent = ''), 8000);
}

/** Page API calls carry a custom header, which a cross-site form or image cannot send. */
async function send(path, body, init = {}) {
  const payload = body?.user && businessNumber ? { ...body, user: { ...body.user, phoneNumberId: businessNumber } } : body;
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sandbox': '1', ...init.headers },
    body: init.raw ?? JSON.stringify(payload),
  }).catch((error) => ({ ok: false, json: async () => ({ error: `Sandbox unreachable: ${error.message}` }) }));
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || answer.error) flash(answer.error ?? `The sandbox answered ${response.status}`);
  return answer;
}

function react(messageId, emoji) {
  const mine = messagesEl.querySelector(`[data-id="${CSS.escape(messageId)}"] .reactions [data-from="user"]`);
  // Tapping your current reaction again removes it, which Meta reports without an emoji.
  return send('/api/reaction', { user, messageId, emoji: mine?.textContent === emoji ? undefined : emoji });
}

$('#composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textEl.value;
  if (!text.trim()) return;
  textEl.value = '';
  if ($('#as-staff').checked) void send('/api/staff', { user, text });
  else void send('/api/text', { user, text, replyTo });
  cancelReply();
});
$('#as-staff').addEventListener('change', (event) => document.body.classList.toggle('writing-as-staff', event.target.checked));

textEl.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('#composer').requestSubmit();
  }
});

$('#attach').addEventListener('change', async (event) => {
  const file = event.target.files?.[0];
  event.target.value = '';
  if (!file) return;
  const type = file.type || (/\.(ogg|opus)$/i.test(file.name) ? 'audio/ogg' : /\.pdf$/i.test(file.name) ? 'application/pdf' : 'application/octet-stream');
  const query = new URLSearchParams({
    phone: user.phone, name: user.name, caption: textEl.value, filename: file.name, voice: String(/ogg|opus/.test(type)),
    ...(replyTo ? { replyTo } : {}),
    ...(businessNumber ? { phoneNumberId: businessNumber } : {}),
  });
  textEl.value = '';
  cancelReply();
  await send(`/api/media?${query}`, undefined, { raw: file, headers: { 'content-type': type } });
});

$('#voice').addEventListener('click', () => void send('/api/voice', { user }));

$('#reply-cancel').addEventListener('click', cancelReply);

$('#chats').addEventListener('click', (event) => {
  const chat = event.target.closest('[data-phone]');
  if (chat) selectUser({ phone: chat.dataset.phone, name: chat.dataset.name });
});

$('#new-chat').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const phone = String(form.get('phone')).replace(/[\s+()-]/g, '');
  selectUser({ phone, name: String(form.get('name')).trim() || `+${phone}` });
  event.target.reset();
});

$('#redeliver').addEventListener('click', () => send('/api/redeliver', {}));
$('#storm').addEventListener('click', () => send('/api/status-storm', { user }));
$('#close-window').addEventListener('click', () => send('/api/window/close', { user }));
$('#burst').addEventListener('submit', (event) => {
  event.preventDefault();
  void send('/api/burst', { user, count: Number(new FormData(event.target).get('count')) });
});
$('#faults').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const [status, code] = String(form.get('preset')).split(':').map(Number);
  void send('/api/faults', { status, code, count: Number(form.get('count')), only: form.get('only') });
});
$('#clear-faults').addEventListener('click', () => send('/api/faults/clear', {}));

$('#business-number').addEventListener('change', (event) => {
  businessNumber = event.target.value;
  sessionStorage.setItem(NUMBER_KEY, businessNumber);
  cancelReply();
  redraw();
});

let caughtUp = false;
const stream = new EventSource('/events');
stream.addEventListener('message', (message) => {
  const event = JSON.parse(message.data);
  if (event.kind === 'reset') events.length = 0;
  events.push(event);
  apply(event, caughtUp);
});
stream.addEventListener('caught-up', () => {
  caughtUp = true;
  messagesEl.lastElementChild?.scrollIntoView({ block: 'end' });
});
stream.addEventListener('open', () => document.body.classList.remove('offline'));
stream.addEventListener('error', () => document.body.classList.add('offline'));

selectUser(user);
