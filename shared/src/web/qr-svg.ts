/**
 * QR codes as SVG for the login page. Encoded on the server because the `qrcode` package has no
 * browser build to serve and the page loads nothing from elsewhere. The payload is a login secret
 * for the few seconds it is valid: it is never logged, stored or echoed in an error.
 */
import QRCode from 'qrcode';

/** Longest payload accepted; a WhatsApp QR payload is about 200 characters. */
export const MAX_QR_DATA = 2048;

/** The quiet zone around the code, in modules (4 is what the QR standard asks for). */
export const QR_MARGIN = 4;

/** Error correction level M, as phones read it well from a screen. */
export const QR_ERROR_CORRECTION = 'M' as const;

export async function qrSvg(data: string): Promise<string> {
  return QRCode.toString(data, { type: 'svg', margin: QR_MARGIN, errorCorrectionLevel: QR_ERROR_CORRECTION });
}
