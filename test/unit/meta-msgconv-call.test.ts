/**
 * Calls from Meta: an XMA whose call-to-action type starts with "xma_rtc_" becomes a notice
 * naming the call (Meta's own title, or one from the CTA type), never a link card or a drop.
 */
import assert from 'node:assert/strict';
import { OP, runSteps } from '../../bridges/meta/src/lightspeed/steps.js';
import { ATTACHMENT_TYPE, groupMessages } from '../../bridges/meta/src/msgconv/meta-message.js';
import { convertMetaMessage } from '../../bridges/meta/src/msgconv/to-matrix.js';
import { THREAD, attachmentRow, messageRow, recordingContext } from '../helpers/meta-msgconv-fixtures.js';

const i64 = (s: string) => [OP.I64_FROM_STRING, s];
const U = [OP.UNDEFINED];
/** insertAttachmentCta with Meta's argument positions (as in meta-msgconv-location.test.ts): 7 is the type. */
const cta = (type: string) => [OP.CALL_STORED_PROCEDURE, 'insertAttachmentCta', i64('1'), 'fbid-call', 0, i64(THREAD), U, 'mid.$m1', 'Call back', type, U, U, U];

async function convertCall(type: string, fields: { titleText?: string; subtitleText?: string }) {
  const { tables } = runSteps([OP.BLOCK, cta(type)]);
  const all = {
    ...tables,
    LSInsertMessage: [messageRow()],
    LSInsertAttachment: [attachmentRow({ attachmentFbid: 'fbid-call', hasXma: true, attachmentType: ATTACHMENT_TYPE.xma, ...fields })],
  };
  const { messages } = groupMessages(all);
  const { ctx, deps, downloads } = recordingContext();
  const out = await convertMetaMessage(messages[0]!, ctx, deps);
  return { out, downloads };
}

describe('Meta -> Matrix calls', () => {
  it('a missed call becomes a notice with Meta\'s title and time', async () => {
    const { out, downloads } = await convertCall('xma_rtc_missed_audio', { titleText: 'Missed Audio Call', subtitleText: '2:00 PM' });
    assert.equal(out.parts.length, 1);
    assert.equal(out.parts[0]!.content.msgtype, 'm.notice');
    assert.equal(out.parts[0]!.content.body, '📞 Missed Audio Call (2:00 PM)');
    assert.deepEqual(downloads, []);
  });

  it('an ongoing call says where to answer it; without a title the CTA type names the call', async () => {
    const { out } = await convertCall('xma_rtc_video', {});
    assert.equal(out.parts[0]!.content.body, '📞 Video call\nAnswer it in Messenger: calls are not bridged.');
    const ended = await convertCall('xma_rtc_ended_audio', { subtitleText: '12 min' });
    assert.equal(ended.out.parts[0]!.content.body, '📞 Audio call ended (12 min)');
  });

  it('an XMA that is not a call is not taken for one', async () => {
    const { out } = await convertCall('xma_poll_details_card', { titleText: 'Lunch?' });
    assert.doesNotMatch(String(out.parts[0]!.content.body), /📞/);
  });
});
