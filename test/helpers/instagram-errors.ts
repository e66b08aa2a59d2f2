/** For the Instagram codec tests: runs `fn` and returns the code of the InstagramError it throws. */
import assert from 'node:assert/strict';
import { InstagramError } from '../../bridges/meta/src/instagram/errors.js';

export function igErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InstagramError, `not an InstagramError: ${String(err)}`);
    return err.code;
  }
  return assert.fail('no error');
}
