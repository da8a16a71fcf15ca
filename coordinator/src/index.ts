export type { AppRouter } from './api/router.ts';
export { buildApp } from './app.ts';
export { type CoordinatorConfig, loadConfig } from './config.ts';
export { type Coordinator, createCoordinator, readTrackDir } from './coordinator.ts';
