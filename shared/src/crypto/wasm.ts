/**
 * The one import of the crypto wasm (vodozemac through matrix-sdk-crypto 18.9.0). Everything,
 * tests included, takes its classes from here: wasm-bindgen checks arguments with `instanceof`,
 * so two loads of the package (the ESM and CJS builds, or matrix-js-sdk's own 14.x at the repo
 * root) would refuse each other's objects.
 */
export * from '@matrix-org/matrix-sdk-crypto-wasm';
