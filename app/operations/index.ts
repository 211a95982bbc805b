export { ServiceMetrics } from './metrics.js';
export { createLogger, type Logger } from './logger.js';
export { checkReadiness, type Readiness } from './readiness.js';
export { clusterMetricsText, serveClusterMetrics } from './clusterMetrics.js';
