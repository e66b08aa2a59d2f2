/**
 * The one error family of the Meta client. Every module throws a subclass with a `code` union of
 * its own, so callers can switch on `err.code` and a test can assert that no input ever produces
 * anything but a `MetaError`. Messages never contain cookie values or message content: they name
 * what was wrong and where.
 */
export abstract class MetaError<Code extends string = string> extends Error {
  abstract readonly area: 'cookies' | 'dgw-frame' | 'dgw-stream' | 'ls-request' | 'ls-steps' | 'page-config' | 'client' | 'instagram';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export const isMetaError = (err: unknown): err is MetaError => err instanceof MetaError;
