// Types for Tributary's stand-in; every class throws when used.
export declare const __isStub: true;
export declare class OlmMachine { static initialize(...args: unknown[]): never; }
export declare class UserId { constructor(id: string); }
export declare class DeviceId { constructor(id: string); }
export declare class RoomId { constructor(id: string); }
export declare class DeviceLists { constructor(...args: unknown[]); }
export declare class EncryptionSettings { constructor(); }
export declare class Attachment { constructor(); }
export declare class EncryptedAttachment { constructor(); }
export declare const RequestType: Readonly<Record<string, number>>;
export declare const StoreType: Readonly<Record<string, number>>;
export declare const HistoryVisibility: Readonly<Record<string, number>>;
export declare const EncryptionAlgorithm: Readonly<Record<string, number>>;
export declare const LoggerLevel: Readonly<Record<string, number>>;
