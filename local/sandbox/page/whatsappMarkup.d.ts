export type MarkupNode =
  | { type: 'text' | 'link' | 'code' | 'pre'; text: string }
  | { type: 'bold' | 'italic' | 'strike' | 'paragraph' | 'quote' | 'item'; children: MarkupNode[] }
  | { type: 'list'; ordered: boolean; start: number; children: MarkupNode[] }
  | { type: 'break' };

export function parseMarkup(text: string): MarkupNode[];
export function parseInline(text: string): MarkupNode[];
