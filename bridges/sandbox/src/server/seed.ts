import type { SandboxNetwork } from './network.js';

/**
 * `--seed demo`: `me` (the account a demo visitor logs the bridge in as), three friends, a group
 * with all four, and DMs me↔alice and me↔bob. Phones are fixed so docs can name them.
 */
export function seedDemo(network: SandboxNetwork): void {
  network.createAccount({ id: 'me', name: 'Me (sandbox)', phone: '+15550000000' });
  network.createAccount({ id: 'alice', name: 'Alice Liddell', phone: '+15550000001' });
  network.createAccount({ id: 'bob', name: 'Bob Builder', phone: '+15550000002' });
  network.createAccount({ id: 'carol', name: 'Carol Danvers', phone: '+15550000003' });
  network.createGroup('alice', 'Sandbox friends', ['me', 'bob', 'carol'], 'Say hi to everyone on the sandbox network');
  network.createDm('alice', 'me');
  network.createDm('bob', 'me');
}
