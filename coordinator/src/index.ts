export type { AppRouter } from './api/router.ts';
export { buildApp } from './app.ts';
export { type Auth, createAuth } from './auth/tokens.ts';
export { type CoordinatorConfig, loadConfig } from './config.ts';
export { type Coordinator, createCoordinator, readTrackDir } from './coordinator.ts';
export { pooledNoise } from './pipeline/stats.ts';
export { createMutationProposer } from './proposers/mutation-proposer.ts';
export { createOllamaProposer } from './proposers/ollama-proposer.ts';
export { addTrack } from './tracks/tracks.ts';
