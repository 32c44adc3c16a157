/**
 * What WhatsApp accepts in the messages the bridge renders (see the Cloud API reference, §11).
 * Lengths are UTF-16 code units, the unit of JavaScript's `length`: never fewer than the
 * characters Meta counts, so a text within them is never refused for its length.
 */
export const WHATSAPP_LIMITS = {
  buttonTitle: 20,
  rowTitle: 24,
  rowDescription: 72,
  listButtonLabel: 20,
  sectionTitle: 24,
  interactiveBody: 1024,
  headerText: 60,
  footerText: 60,
  ctaDisplayText: 20,
  caption: 1024,
  buttonId: 256,
  rowId: 200,
  maxButtons: 3,
  maxRows: 10,
} as const;
