/** The Meta web client: re-exports are added as the modules land. */
export {};
