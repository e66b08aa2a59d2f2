export * from './network/index.js';
export { runBridge, runBridgeCli, type RunOptions, type RunningBridge } from './main.js';
export { getLogger, configureLogging, type Logger } from './logging.js';
export { VERSION } from './version.js';
