/**
 * The domain vocabulary of reconcile-gateways: what observe reads, what desired builds, what diff
 * plans and what actuate applies. Types only; no behaviour lives here. One file per concern under
 * src/model/; import them from here.
 */
export type * from './model/settings.js';
export type * from './model/observed.js';
export type * from './model/desired.js';
export type * from './model/plan.js';
