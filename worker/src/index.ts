export { detectHardware, parseNvidiaSmi } from './hardware/detect.ts';
export { type Client, createClient, errorCode } from './lease/client.ts';
export { createWorkerAgent, type WorkerOptions } from './lease/loop.ts';
export { jobEnv, resolveArgv } from './runner/env.ts';
export { killRunningChildren, killTree, runProcess } from './runner/process.ts';
