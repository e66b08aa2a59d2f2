/** The Instagram bridge: its connector lands here. */
export {};
