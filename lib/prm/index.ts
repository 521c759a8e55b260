// Prm: score text with a real process reward model.
export * from './prm.js';
