'use strict';
// matrix-bot-sdk (inside matrix-appservice-bridge) requires this package at import time, but the real
// one downloads a native binary from outside the package registry during install. Tributary never
// enables bot-sdk's crypto, so every entry point here throws instead of silently doing nothing.
function unavailable(name) {
  return function () {
    throw new Error(`@matrix-org/matrix-sdk-crypto-nodejs is stubbed in Tributary: ${name} is unavailable (use the wasm crypto layer)`);
  };
}
const classes = ['OlmMachine', 'UserId', 'DeviceId', 'RoomId', 'DeviceLists', 'EncryptionSettings', 'Attachment', 'EncryptedAttachment'];
for (const name of classes) {
  const C = class { constructor() { unavailable(name)(); } };
  Object.defineProperty(C, 'name', { value: name });
  C.initialize = unavailable(`${name}.initialize`);
  module.exports[name] = C;
}
const en = (o) => Object.freeze(o);
module.exports.RequestType = en({ KeysUpload: 0, KeysQuery: 1, KeysClaim: 2, ToDevice: 3, SignatureUpload: 4, RoomMessage: 5, KeysBackup: 6 });
module.exports.StoreType = en({ Sqlite: 0 });
module.exports.HistoryVisibility = en({ Invited: 0, Joined: 1, Shared: 2, WorldReadable: 3 });
module.exports.EncryptionAlgorithm = en({ OlmV1Curve25519AesSha2: 0, MegolmV1AesSha2: 1 });
module.exports.LoggerLevel = en({ Trace: 0, Debug: 1, Info: 2, Warn: 3, Error: 4 });
module.exports.__isStub = true;
