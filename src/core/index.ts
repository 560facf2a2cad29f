/** The pure domain of Baton: no I/O, safe to use anywhere (DESIGN.md, "Layers"). */
export * from './types.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './priority.ts';
export * from './retry.ts';
export * from './dag.ts';
export * from './state.ts';
export * from './validate.ts';
export * from './scaling.ts';
export * from './logs.ts';
