import type { Request, Response } from '@google-cloud/functions-framework';

/** What functions-framework's `http()` registers. */
export type HttpHandler = (req: Request, res: Response) => Promise<void>;
