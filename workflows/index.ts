/** Every workflow the worker runs; each feature adds its own module here. */
export {};
