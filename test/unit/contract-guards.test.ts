import assert from 'node:assert/strict';
import * as capabilities from '../../shared/src/network/capabilities.js';
import type { NetworkAPI } from '../../shared/src/network/api.js';
import {
  BridgeError, ErrNotLoggedIn, ErrTargetNotFound, ErrTooLarge, ErrUnsupported, asBridgeError, isBridgeError,
} from '../../shared/src/network/errors.js';

/** Every guard and the methods that make an API pass it. */
const GUARDS: Record<string, string[]> = {
  isEditHandling: ['handleMatrixEdit'],
  isReactionHandling: ['preHandleMatrixReaction', 'handleMatrixReaction', 'handleMatrixReactionRemove'],
  isRedactionHandling: ['handleMatrixMessageRemove'],
  isReadReceiptHandling: ['handleMatrixReadReceipt'],
  isTypingHandling: ['handleMatrixTyping'],
  isPresenceHandling: ['handleMatrixPresence'],
  isRoomNameHandling: ['handleMatrixRoomName'],
  isRoomTopicHandling: ['handleMatrixRoomTopic'],
  isRoomAvatarHandling: ['handleMatrixRoomAvatar'],
  isMembershipHandling: ['handleMatrixMembership'],
  isPowerLevelHandling: ['handleMatrixPowerLevels'],
  isBackfilling: ['fetchMessages'],
  isContactListing: ['getContactList'],
  isIdentifierResolving: ['resolveIdentifier'],
  isGroupCreating: ['createGroup'],
};

type Guard = (api: NetworkAPI) => boolean;
const guardOf = (name: string): Guard => (capabilities as unknown as Record<string, Guard>)[name]!;

/** A plain API object with the given methods (and the base NetworkAPI members, which guards ignore). */
function apiWith(methods: string[]): NetworkAPI {
  const api: Record<string, unknown> = { connect: async () => {}, disconnect: async () => {}, isLoggedIn: () => true };
  for (const m of methods) api[m] = async () => {};
  return api as unknown as NetworkAPI;
}

describe('capability guards', () => {
  it('the table covers every isX() guard the module exports', () => {
    const exported = Object.keys(capabilities).filter((k) => /^is[A-Z]/.test(k)).sort();
    assert.deepEqual(exported, Object.keys(GUARDS).sort());
  });

  for (const [name, methods] of Object.entries(GUARDS)) {
    describe(name, () => {
      const guard = guardOf(name);

      it('is true for an object with all its methods', () => {
        assert.equal(guard(apiWith(methods)), true);
      });

      it('is true for a class instance whose methods live on the prototype', () => {
        class Api {}
        for (const m of methods) (Api.prototype as unknown as Record<string, unknown>)[m] = function () {};
        assert.equal(guard(new Api() as unknown as NetworkAPI), true);
      });

      it('is false without its methods', () => {
        assert.equal(guard(apiWith([])), false);
        const otherMethods = Object.entries(GUARDS).filter(([n]) => n !== name).flatMap(([, ms]) => ms.filter((m) => !methods.includes(m)));
        assert.equal(guard(apiWith(otherMethods)), false, 'other capabilities do not count');
      });

      for (const missing of methods) {
        it(`is false when only ${missing} is missing`, () => {
          assert.equal(guard(apiWith(methods.filter((m) => m !== missing))), false);
        });
      }

      it('is false when a method name is present but not a function', () => {
        const api = apiWith(methods) as unknown as Record<string, unknown>;
        api[methods[0]!] = true;
        assert.equal(guard(api as unknown as NetworkAPI), false);
      });
    });
  }
});

describe('BridgeError', () => {
  it('defaults to a certain, noticed failure with reason m_unknown', () => {
    const e = new BridgeError('boom');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'BridgeError');
    assert.equal(e.message, 'boom');
    assert.equal(e.status, 'fail');
    assert.equal(e.reason, 'm_unknown');
    assert.equal(e.certain, true);
    assert.equal(e.sendNotice, true);
    assert.equal(e.userMessage, 'boom');
    assert.equal(e.cause, undefined);
    assert.equal(isBridgeError(e), true);
  });

  it('keeps the options it is given', () => {
    const cause = new Error('socket closed');
    const e = new BridgeError('send failed', { status: 'retriable', reason: 'm_network_error', certain: false, sendNotice: false, userMessage: 'Try again', cause });
    assert.deepEqual(
      [e.status, e.reason, e.certain, e.sendNotice, e.userMessage, e.cause],
      ['retriable', 'm_network_error', false, false, 'Try again', cause],
    );
  });

  it('with() overrides some fields and keeps the rest', () => {
    const e = ErrUnsupported('Polls').with({ sendNotice: false });
    assert.equal(e.reason, 'm_unsupported');
    assert.equal(e.userMessage, 'Polls is not supported by this network');
    assert.equal(e.sendNotice, false);
    assert.equal(e.message, 'Polls is not supported');
  });

  it('the stock errors carry their reasons', () => {
    assert.equal(ErrNotLoggedIn().reason, 'm_not_logged_in');
    assert.equal(ErrTargetNotFound('message').reason, 'm_not_found');
    assert.equal(ErrTargetNotFound('message').sendNotice, false);
    assert.equal(ErrTooLarge(300 * 1048576, 100 * 1048576).reason, 'm_too_large');
    assert.match(ErrTooLarge(300 * 1048576, 100 * 1048576).userMessage, /100 MiB/);
  });

  describe('asBridgeError', () => {
    it('returns a BridgeError unchanged', () => {
      const e = new BridgeError('x', { reason: 'm_bad_format' });
      assert.equal(asBridgeError(e), e);
    });

    it('wraps an unknown Error as retriable, uncertain, with the Error as cause', () => {
      const orig = new TypeError('cannot read properties of undefined');
      const e = asBridgeError(orig);
      assert.ok(e instanceof BridgeError);
      assert.equal(e.status, 'retriable');
      assert.equal(e.reason, 'm_unknown');
      assert.equal(e.certain, false);
      assert.equal(e.message, 'cannot read properties of undefined');
      assert.equal(e.cause, orig);
    });

    it('wraps thrown non-Errors too', () => {
      for (const thrown of ['plain string', 42, null, undefined, { code: 1 }]) {
        const e = asBridgeError(thrown);
        assert.ok(e instanceof BridgeError);
        assert.equal(e.status, 'retriable');
        assert.equal(e.certain, false);
        assert.equal(e.message, String(thrown));
      }
    });
  });
});
