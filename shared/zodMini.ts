import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod's tree-shakable API (`zod/mini`) for the schemas on the webhook's start-up path, so the
 * bundle's start-up chunks carry only the parts of zod they use instead of classic zod (~790 KB,
 * ~65 ms to load). zod/mini ships without issue messages (each would read "Invalid input"), so it
 * gets the English ones classic zod registers by itself. Import it as
 * `import * as z from '…/zodMini.js'`: a namespace import is what lets the bundler drop the rest.
 */
config(en());

export * from 'zod/mini';
