/** The Messenger bridge: its connector lands here. */
export {};
