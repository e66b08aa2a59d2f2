import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

process.env.TRIBUTARY_LOG_LEVEL ??= 'warn';

const require = createRequire(import.meta.url);
const STUB = '@matrix-org/matrix-sdk-crypto-nodejs';

interface StubModule {
  __isStub?: boolean;
  OlmMachine: new (...args: unknown[]) => unknown;
  UserId: new (...args: unknown[]) => unknown;
  DeviceId: new (...args: unknown[]) => unknown;
}

describe('native crypto binding stub', () => {
  it('is what loads for the root package', () => {
    const mod = require(STUB) as StubModule;
    assert.equal(mod.__isStub, true);
  });

  it('throws a message naming the stub when a class is constructed', () => {
    const mod = require(STUB) as StubModule;
    for (const [name, C] of [['OlmMachine', mod.OlmMachine], ['UserId', mod.UserId], ['DeviceId', mod.DeviceId]] as const) {
      assert.throws(() => new C('@a:b'), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /stubbed in Tributary/);
        assert.ok(err.message.includes(name), `message names ${name}: ${err.message}`);
        return true;
      });
    }
  });

  it('is also the copy @vector-im/matrix-bot-sdk resolves (the npm override works)', () => {
    const botSdkMain = require.resolve('@vector-im/matrix-bot-sdk');
    const fromBotSdk = createRequire(botSdkMain);
    const resolved = fromBotSdk.resolve(STUB);
    assert.equal(resolved, require.resolve(STUB));
    assert.match(resolved, new RegExp(`${path.sep}vendor${path.sep}crypto-nodejs-stub${path.sep}`));
    assert.equal((fromBotSdk(STUB) as StubModule).__isStub, true);
  });

  it('lets matrix-appservice-bridge load', async () => {
    const mab = await import('matrix-appservice-bridge');
    assert.equal(typeof mab.AppService, 'function');
    assert.equal(typeof mab.Bridge, 'function');
  });
});
