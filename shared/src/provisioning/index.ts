/**
 * Mounts the provisioning API on the appservice listener when `provisioning.enabled`; the
 * returned API must be stopped with the bridge (it owns the login processes' sweep timer).
 */
import type { Bridge } from '../core/bridge.js';
import type { TributaryAppService } from '../matrix/appservice.js';
import { ProvisioningApi, type ProvisioningApiOptions } from './api.js';

export { ProvisioningApi, type ProvisioningApiOptions } from './api.js';

export function mountProvisioning(as: TributaryAppService, bridge: Bridge, opts: ProvisioningApiOptions = {}): ProvisioningApi | undefined {
  if (!bridge.config.provisioning.enabled) return undefined;
  const api = new ProvisioningApi(bridge, opts);
  as.addRoute('*', `${bridge.config.provisioning.prefix}/`, (req, res, url) => api.handle(req, res, url));
  return api;
}
