export { PromBridgeMetrics, type BridgeMetrics, type Direction, type MetricsSource } from './bridge-metrics.js';
export { startMetricsServer, type MetricsServer } from './server.js';
