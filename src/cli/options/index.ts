// Every command's options, defined once each: the shared toolkit in parse.ts,
// then one module per command (or family of commands).
export * from './broker-url';
export * from './pair';
export * from './broker';
export * from './lab';
export * from './faults';
export * from './bench';
export * from './load';
export type { Display, Parsed } from './parse';
export * from './connection';
export * from './probe';
