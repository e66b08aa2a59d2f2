/**
 * Locations from Meta: an XMA attachment whose call-to-action (insertAttachmentCta, joined by the
 * attachment fbid) has the type "xma_live_location_sharing" becomes `m.location` with a `geo:` URI
 * from the CTA's native URL; a live location (no native URL) becomes a notice, never dropped.
 */
import assert from 'node:assert/strict';
import { eventsFromTables } from '../../bridges/meta/src/client/events.js';
import { OP, runSteps } from '../../bridges/meta/src/lightspeed/steps.js';
import { ATTACHMENT_TYPE, groupMessages } from '../../bridges/meta/src/msgconv/meta-message.js';
import { convertMetaMessage } from '../../bridges/meta/src/msgconv/to-matrix.js';
import { geoUriOf } from '../../bridges/meta/src/msgconv/to-matrix-location.js';
import { THREAD, attachmentRow, messageRow, recordingContext } from '../helpers/meta-msgconv-fixtures.js';

const i64 = (s: string) => [OP.I64_FROM_STRING, s];
const U = [OP.UNDEFINED];
/** insertAttachmentCta with Meta's argument positions (facts): 1 fbid, 3 thread, 5 message, 6 title, 7 type, 9 action URL, 10 native URL. */
const ctaCall = (nativeUrl: unknown) => [OP.CALL_STORED_PROCEDURE, 'insertAttachmentCta', i64('1'), 'fbid-loc', 0, i64(THREAD), U, 'mid.$m1', 'Open', 'xma_live_location_sharing', U, 'https://www.facebook.com/maps', nativeUrl];

function tablesWith(nativeUrl: unknown) {
  const { tables } = runSteps([OP.BLOCK, ctaCall(nativeUrl)]);
  return {
    ...tables,
    LSInsertMessage: [messageRow()],
    LSInsertAttachment: [attachmentRow({ attachmentFbid: 'fbid-loc', hasXma: true, attachmentType: ATTACHMENT_TYPE.xma, titleText: 'Café Central', subtitleText: 'Herrengasse 14, Vienna' })],
  };
}

describe('Meta -> Matrix locations', () => {
  it('a pinned location (CTA native URL "lat,long") becomes m.location with a geo: URI and the place as its body', async () => {
    const tables = tablesWith('48.2104,16.3656');
    assert.equal(tables.LSInsertAttachmentCta?.[0]?.type, 'xma_live_location_sharing', 'the CTA row is read from its positions');
    const { messages } = groupMessages(tables);
    const { ctx, deps, downloads } = recordingContext();
    const out = await convertMetaMessage(messages[0]!, ctx, deps);
    assert.equal(out.parts.length, 1);
    assert.deepEqual(out.parts[0]!.content, {
      msgtype: 'm.location', body: 'Café Central\nHerrengasse 14, Vienna', geo_uri: 'geo:48.2104,16.3656',
      'org.matrix.msc3488.location': { uri: 'geo:48.2104,16.3656', description: 'Café Central\nHerrengasse 14, Vienna' },
    });
    assert.deepEqual(downloads, [], 'nothing is fetched for a location');
    // The live path (events from a push) joins the CTA the same way.
    const [event] = eventsFromTables(tables).filter((e) => e.type === 'message');
    assert.equal(event?.type === 'message' ? event.attachments[0]?.cta?.nativeUrl : undefined, '48.2104,16.3656');
  });

  it('a live location (no native URL) becomes a notice with its title and subtitle', async () => {
    const { messages } = groupMessages(tablesWith(U));
    const { ctx, deps } = recordingContext();
    const out = await convertMetaMessage(messages[0]!, ctx, deps);
    assert.equal(out.parts[0]!.content.msgtype, 'm.notice');
    assert.match(String(out.parts[0]!.content.body), /^A live location: open it in Messenger to see it\.\nCafé Central\nHerrengasse 14, Vienna/);
  });

  it('only valid coordinates make a geo: URI', () => {
    assert.equal(geoUriOf('-33.8568,151.2153'), 'geo:-33.8568,151.2153');
    assert.equal(geoUriOf(' 0,0 '), 'geo:0,0');
    for (const bad of [undefined, '', '91,0', '0,181', '1;2', 'javascript:alert(1)', '1,2,3', '1e5,2']) assert.equal(geoUriOf(bad), undefined, String(bad));
  });
});
