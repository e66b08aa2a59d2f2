/* global AbortController */
/**
 * One login process, from `login/start` to `complete`: shows each step, submits forms, and asks
 * for the next step of a display_and_wait step over and over (each request waits on the bridge
 * until the QR code rotates or the login ends), so the page follows the phone live.
 *
 * hooks: { render(node, step, first), complete(step), fail(error), error(message) }
 */
import { ApiError, sleep } from './api.js';
import { renderStep } from './steps.js';

/** Errors after which the bridge keeps the step open: the person can correct the form. */
const STEP_STAYS = new Set(['M_INVALID_PARAM', 'M_MISSING_PARAM', 'M_BAD_JSON', 'M_NOT_JSON']);

export class LoginRun {
  constructor(api, flow, hooks) {
    this.api = api;
    this.flow = flow;
    this.hooks = hooks;
    this.abort = new AbortController();
    this.step = undefined;
    this.view = undefined;
    this.ended = false;
    this.polling = false;
  }

  async start() {
    let step;
    try {
      step = await this.api.start(this.flow.id);
    } catch (err) {
      this.fail(err);
      return;
    }
    // Cancelled while the bridge was starting it: the process exists now, so drop it there too.
    if (this.ended) {
      if (step.type !== 'complete') this.api.cancel(step.login_id).catch(() => undefined);
      return;
    }
    this.show(step);
  }

  /** Stops following the process and tells the bridge to drop it. */
  cancel() {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    if (this.step) this.api.cancel(this.step.login_id).catch(() => undefined);
  }

  show(step) {
    if (this.ended) return;
    const previous = this.step;
    this.step = step;
    if (step.type === 'complete') {
      this.ended = true;
      this.hooks.complete(step);
      return;
    }
    const sameKind = previous && previous.type === step.type && previous.step_id === step.step_id;
    if (!(sameKind && this.view?.update(step))) {
      this.view = renderStep(step, {
        submit: (values) => this.submit(values),
        qrImage: (data) => this.api.qrImage(data, this.abort.signal),
        error: (message) => this.hooks.error(message),
      });
      this.hooks.render(this.view.node, step, !previous);
    }
    if (step.type === 'display_and_wait' && !this.polling) void this.poll();
  }

  /** A form's values for the current user_input or cookies step. */
  async submit(values) {
    const step = this.step;
    let next;
    try {
      next = await this.api.submit(step, values, this.abort.signal);
    } catch (err) {
      if (this.ended || err?.name === 'AbortError') return;
      if (err instanceof ApiError && err.status === 400 && STEP_STAYS.has(err.errcode)) throw err;
      this.fail(err);
      return;
    }
    this.show(next);
  }

  async poll() {
    this.polling = true;
    let failures = 0;
    try {
      while (!this.ended && this.step.type === 'display_and_wait') {
        let next;
        try {
          next = await this.api.submit(this.step, undefined, this.abort.signal);
          failures = 0;
        } catch (err) {
          if (this.ended || err?.name === 'AbortError') return;
          // The bridge unreachable for a moment (a restart, a network blip): keep trying a while.
          if (err instanceof ApiError && err.status === 0 && ++failures < 5) {
            await sleep(2000 * failures, this.abort.signal).catch(() => undefined);
            continue;
          }
          this.fail(err);
          return;
        }
        this.show(next);
      }
    } finally {
      this.polling = false;
    }
  }

  fail(err) {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.hooks.fail(err);
  }
}
