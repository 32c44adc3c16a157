import { randomBytes } from 'node:crypto';

/**
 * Meta's wording for the Graph error codes the sandbox can answer with
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
 */
const KNOWN_ERRORS: Record<number, { title: string; details: string }> = {
  0: { title: 'AuthException', details: 'We were unable to authenticate the app user.' },
  1: { title: 'An unknown error occurred', details: 'Invalid request or possible server error.' },
  2: { title: 'Service temporarily unavailable', details: 'Temporary due to downtime or due to being overloaded.' },
  4: { title: 'Application request limit reached', details: 'The app has reached its API call rate limit.' },
  10: { title: 'Permission denied', details: 'Permission is either not granted or has been removed.' },
  100: { title: 'Invalid parameter', details: 'The request included one or more unsupported or misspelled parameters.' },
  190: { title: 'Access token has expired', details: 'Error validating access token: Session has expired.' },
  368: { title: 'Temporarily blocked for policies violations', details: 'The WhatsApp Business Account is restricted.' },
  80007: { title: 'Rate limit issues', details: 'The WhatsApp Business Account has reached its rate limit.' },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.' },
  131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.' },
  131016: { title: 'Service unavailable', details: 'A service is temporarily unavailable.' },
  131026: { title: 'Message undeliverable', details: 'Unable to deliver message.' },
  131047: {
    title: 'Re-engagement message',
    details: 'More than 24 hours have passed since the recipient last replied to the sender number.',
  },
  131048: { title: 'Spam rate limit hit', details: 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.' },
  131056: {
    title: '(Business Account, Consumer Account) pair rate limit hit',
    details: 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
  },
  131057: { title: 'Account in maintenance mode', details: 'Business Account is in maintenance mode.' },
  132000: {
    title: 'Number of parameters does not match the expected number of params',
    details: 'The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.',
  },
  132001: { title: 'Template does not exist', details: 'The template does not exist in the specified language or the template has not been approved.' },
};

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_data: { messaging_product: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

/** The JSON body Graph answers a failed call with; `details` overrides the code's usual explanation. */
export function graphErrorBody(code: number, details?: string): GraphErrorBody {
  const known = KNOWN_ERRORS[code];
  return {
    error: {
      message: `(#${code}) ${known?.title ?? 'Error'}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details: details ?? known?.details ?? 'Injected by the sandbox.' },
      fbtrace_id: randomBytes(16).toString('base64url').slice(0, 23),
    },
  };
}

/** What Graph says to a request without a valid token (no `(#190)` prefix, as Meta writes it). */
export function invalidTokenBody(): GraphErrorBody {
  const body = graphErrorBody(190, 'Invalid OAuth access token - Cannot parse access token');
  body.error.message = 'Invalid OAuth access token - Cannot parse access token';
  return body;
}
