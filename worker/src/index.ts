export {
  createFoldingGate,
  type FoldingGate,
  machineSources,
  type ReadingSources,
} from './folding/monitor.ts';
export { FoldingPrefs, leaseVerdict, runVerdict } from './folding/rules.ts';
export { detectHardware, NVIDIA_SMI_ARGS, parseNvidiaSmi } from './hardware/detect.ts';
export { planSlots, type Slot } from './hardware/slots.ts';
export { type Client, createClient, errorCode } from './lease/client.ts';
export { createWorkerAgent, type WorkerOptions } from './lease/loop.ts';
export type { JobEvent } from './lease/progress-watch.ts';
export { cacheDirFor, pythonCandidates } from './platform/platform.ts';
export { jobEnv, resolveArgv } from './runner/env.ts';
export { killRunningChildren, killTree, runProcess } from './runner/process.ts';
export { createSerial } from './runner/serial.ts';
export { createSandbox, DEFAULT_LIMITS, type Sandbox, type SandboxLimits } from './sandbox/index.ts';
