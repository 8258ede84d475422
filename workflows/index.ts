/** Every workflow the worker runs; each feature adds its own module here. */
export * from './payments.js';
export * from './webhooks.js';
export * from './booking.js';
export * from './monitors.js';
export * from './diagnosis.js';
export * from './cot.js';
export * from './companies.js';
export * from './accounts.js';
