/**
 * The helpers the login page's browser test reads QR codes from screenshots with: the PNG
 * decoder and the module sampler, on PNGs the `qrcode` package renders (another encoder of PNG
 * than Chromium, with filtered rows), and that they tell one code from another.
 */
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { decodePng, luminance } from '../helpers/png.js';
import { expectedModules, qrMismatches } from '../helpers/qr-screenshot.js';

describe('QR codes read back from screenshots (test helpers)', () => {
  it('decodes a PNG to its pixels', async () => {
    const png = await QRCode.toBuffer('ABCD-EFGH', { type: 'png', margin: 4, scale: 10, errorCorrectionLevel: 'M' });
    const img = decodePng(png);
    assert.deepEqual([img.width, img.height], [290, 290]);
    assert.ok(luminance(img, 5, 5) > 200, 'the quiet zone is light');
    assert.ok(luminance(img, 45, 45) < 50, 'the top-left finder pattern is dark');
    assert.throws(() => decodePng(Buffer.from('not a png')), /not a PNG/);
  });

  it('finds exactly the code of its payload in an image, offset and scaled, and not another', async () => {
    const png = await QRCode.toBuffer('WXYZ-2345', { type: 'png', margin: 4, scale: 7, errorCorrectionLevel: 'M' });
    const size = expectedModules('WXYZ-2345').length + 8;
    const box = { x: 0, y: 0, width: size * 7, height: size * 7 };
    assert.equal(qrMismatches(png, box, 'WXYZ-2345'), 0);
    assert.ok(qrMismatches(png, box, 'WXYZ-2346') > 40, 'a different payload does not match');
    assert.ok(qrMismatches(png, { ...box, x: 14 }, 'WXYZ-2345') > 40, 'a misplaced box does not match');
  });
});
