import type { HttpFunction } from '@google-cloud/functions-framework';
import { constantTimeEqual } from '../../../shared/auth/constantTimeEqual.js';
import type { Logger } from '../../../shared/log/logger.js';

/**
 * The admin routes behind `Authorization: Bearer <ADMIN_API_TOKEN>`. The token is checked (in
 * constant time) before the routes are loaded: an anonymous request never pulls their Firestore
 * and aiplatform code into the webhook's memory.
 */
export function requireAdminToken(adminToken: string, loadRoutes: () => Promise<HttpFunction>, log: Logger): HttpFunction {
  return async (req, res) => {
    const token = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!constantTimeEqual(token, adminToken)) {
      // The path can hold a phone number: log the route, not the path.
      const route = req.path.replace(/^(\/whatsapp\/(?:sessions|messages))\/.*$/, '$1/{id}');
      log.warn({ method: req.method, route, hasToken: token !== undefined }, 'admin request refused: bad or missing token');
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' });
      return;
    }
    const routes = await loadRoutes();
    await routes(req, res);
  };
}
