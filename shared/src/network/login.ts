/**
 * Login is a small state machine the connector drives and the core presents, identically in bot
 * commands and the provisioning API: every call returns the next step until `complete`.
 */
import type { UserLoginId } from './ids.js';

export interface LoginFlow {
  id: string;
  name: string;
  description: string;
}

export interface LoginInputField {
  id: string;
  type: 'phone_number' | 'username' | 'password' | 'email' | 'code' | 'text' | 'token';
  name: string;
  description?: string;
  /** A regular expression the value must match; checked by the core before submitting. */
  pattern?: string;
}

export interface LoginCookieField {
  id: string;
  required: boolean;
  /** Where the person finds it, e.g. a cookie name and domain. */
  source: { type: 'cookie'; name: string; domain: string } | { type: 'local_storage' | 'request_header'; name: string };
  pattern?: string;
}

interface StepBase {
  /** Stable id of the step kind, e.g. `sandbox.password.credentials`. */
  stepId: string;
  instructions: string;
}

export type LoginStep =
  | (StepBase & { type: 'user_input'; fields: LoginInputField[] })
  | (StepBase & { type: 'cookies'; url: string; fields: LoginCookieField[] })
  | (StepBase & {
      type: 'display_and_wait';
      /** `qr`: data is the QR payload; `code`: a code the person types on their phone. */
      display: { type: 'qr' | 'code' | 'nothing'; data?: string };
    })
  | (StepBase & { type: 'complete'; complete: { userLoginId: UserLoginId; remoteName: string } });

export type LoginStepType = LoginStep['type'];

export interface LoginProcess {
  start(): Promise<LoginStep>;
  /** For `user_input` steps. Values are keyed by field id. */
  submitUserInput?(values: Record<string, string>): Promise<LoginStep>;
  /** For `cookies` steps. */
  submitCookies?(cookies: Record<string, string>): Promise<LoginStep>;
  /**
   * For `display_and_wait` steps: resolves with the next step, which may be the same step with new
   * data (a rotated QR code) or `complete`.
   */
  wait?(): Promise<LoginStep>;
  cancel(): void;
}
