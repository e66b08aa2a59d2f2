/**
 * A login in progress in a management room: shows each step of the connector's LoginProcess,
 * collects the fields of `user_input` and `cookies` steps one message at a time, keeps waiting on
 * `display_and_wait` steps (sending the QR code as an image, replaced as it rotates), and ends on
 * `complete`, a cancel, or an error.
 */
import QRCode from 'qrcode';
import { Readable } from 'node:stream';
import type { Bridge } from '../core/bridge.js';
import { RoomMediaUploads } from '../core/room-media.js';
import type { LoginProcess, LoginStep, LoginInputField, LoginCookieField } from '../network/index.js';

interface Session {
  process: LoginProcess;
  roomId: string;
  step: LoginStep;
  values: Record<string, string>;
  pending: Array<LoginInputField | LoginCookieField>;
  cancelled: boolean;
  /** The QR image of the step on screen and that step's id: a rotated code edits it in place. */
  qr?: { eventId: string; stepId: string };
}

export class LoginSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly bridge: Bridge) {}

  has(mxid: string): boolean {
    return this.sessions.has(mxid);
  }

  cancel(mxid: string): boolean {
    const s = this.sessions.get(mxid);
    if (!s) return false;
    s.cancelled = true;
    s.process.cancel();
    this.sessions.delete(mxid);
    return true;
  }

  async start(mxid: string, roomId: string, process: LoginProcess): Promise<void> {
    this.cancel(mxid);
    const step = await process.start();
    const s: Session = { process, roomId, step, values: {}, pending: [], cancelled: false };
    this.sessions.set(mxid, s);
    await this.show(mxid, s);
  }

  /**
   * Redacts a message that holds a secret: as the bot, or else as the person through double
   * puppeting (anyone may redact their own events; in a room the person made, the bot usually
   * lacks the power to). If neither works, the person is asked to delete it.
   */
  private async removeSecret(mxid: string, roomId: string, eventId: string): Promise<void> {
    const b = this.bridge;
    const asBot = await b.api.redact(roomId, eventId, { asUser: b.botMxid, txnId: `loginredact.${eventId}` }).then(() => true, () => false);
    if (asBot) return;
    if (b.canPuppet(mxid) && await b.api.redact(roomId, eventId, { asUser: mxid, txnId: `loginredact.${eventId}` }).then(() => true, () => false)) return;
    await b.sendNotice(roomId, '⚠️ I could not remove your message with the secret from this room. Please delete it yourself.').catch(() => undefined);
  }

  async submit(mxid: string, roomId: string, text: string, eventId: string): Promise<void> {
    const s = this.sessions.get(mxid);
    if (!s) return;
    const field = s.pending[0];
    if (!field) return;
    if (field.pattern && !new RegExp(field.pattern).test(text)) {
      await this.bridge.sendNotice(roomId, `That does not look right for ${'name' in field ? field.name : field.id}; try again or send "cancel".`);
      return;
    }
    s.values[field.id] = text;
    s.pending.shift();
    // Secrets typed into the room should not stay there.
    if (['password', 'token', 'code'].includes((field as LoginInputField).type ?? '') || s.step.type === 'cookies') {
      await this.removeSecret(mxid, roomId, eventId);
    }
    if (s.pending.length) return this.prompt(s);
    try {
      const next = s.step.type === 'cookies'
        ? await s.process.submitCookies!(s.values)
        : await s.process.submitUserInput!(s.values);
      s.step = next;
      s.values = {};
      await this.show(mxid, s);
    } catch (err) {
      this.sessions.delete(mxid);
      await this.bridge.sendNotice(roomId, `Login failed: ${(err as Error).message}`);
    }
  }

  private async prompt(s: Session): Promise<void> {
    const f = s.pending[0]!;
    const what = 'name' in f ? `${f.name}${f.description ? ` (${f.description})` : ''}` : `the ${f.source.name} cookie`;
    await this.bridge.sendNotice(s.roomId, `Please send ${what}.`);
  }

  private async show(mxid: string, s: Session): Promise<void> {
    const step = s.step;
    const b = this.bridge;
    switch (step.type) {
      case 'user_input':
      case 'cookies':
        s.pending = [...step.fields];
        await b.sendNotice(s.roomId, step.instructions);
        return this.prompt(s);
      case 'display_and_wait':
        if (step.display.type === 'qr' && step.display.data && s.qr?.stepId === step.stepId) {
          // The same step with a rotated code: replace the image instead of posting another.
          await this.sendQr(s, step.stepId, step.display.data);
          void this.waitLoop(mxid, s);
          return;
        }
        await b.sendNotice(s.roomId, step.instructions);
        if (step.display.type === 'qr' && step.display.data) await this.sendQr(s, step.stepId, step.display.data);
        else if (step.display.type === 'code' && step.display.data) await b.sendNotice(s.roomId, step.display.data);
        void this.waitLoop(mxid, s);
        return;
      case 'complete':
        this.sessions.delete(mxid);
        await b.sendNotice(s.roomId, step.instructions || `Logged in as ${step.complete.remoteName}.`);
        return;
    }
  }

  private async waitLoop(mxid: string, s: Session): Promise<void> {
    try {
      const next = await s.process.wait!();
      if (s.cancelled) return;
      s.step = next;
      await this.show(mxid, s);
    } catch (err) {
      if (s.cancelled) return;
      this.sessions.delete(mxid);
      await this.bridge.sendNotice(s.roomId, `Login failed: ${(err as Error).message}`);
    }
  }

  /**
   * Posts the QR code as an image, or edits the one already posted for this step (m.replace). In
   * an encrypted room it is an encrypted attachment (each rotated code a new one).
   */
  private async sendQr(s: Session, stepId: string, data: string): Promise<void> {
    const png = await QRCode.toBuffer(data, { type: 'png', margin: 2, scale: 6 });
    const media = new RoomMediaUploads(this.bridge, s.roomId, this.bridge.botMxid, false);
    const up = await media.upload({ open: async () => Readable.from(png), mimetype: 'image/png', size: png.length, filename: 'login-qr.png' });
    const image = media.apply({ msgtype: 'm.image', body: 'login-qr.png', url: up.url, info: { mimetype: 'image/png', size: png.length } });
    const txnId = `qr.${Date.now()}.${Math.random().toString(36).slice(2)}`;
    if (s.qr?.stepId === stepId) {
      await this.bridge.api.sendEvent(s.roomId, 'm.room.message', {
        ...image, body: '* login-qr.png', 'm.new_content': image, 'm.relates_to': { rel_type: 'm.replace', event_id: s.qr.eventId },
      }, { asUser: this.bridge.botMxid, txnId });
      return;
    }
    const eventId = await this.bridge.api.sendEvent(s.roomId, 'm.room.message', image, { asUser: this.bridge.botMxid, txnId });
    s.qr = { eventId, stepId };
  }
}
