// What the offload badge says, apart from the DOM (test/badge.test.js).

/** @typedef {import('../common/figures.js').Figures} Figures */

/** The figures in the order shown, with their labels. @type {Array<[keyof Figures, string]>} */
export const LINES = [
  ['peers', 'from peers'],
  ['store', 'from this browser'],
  ['http', 'over HTTP'],
  ['uploaded', 'uploaded'],
];

/**
 * A byte count for people: 0 B, 950 B, 1.2 kB, 34 MB (SI units, as browsers' download lists).
 * @param {number} b
 */
export function human(b) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 999.5 && i < units.length - 1) {
    b /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(b) : b < 9.95 ? b.toFixed(1) : Math.round(b)} ${units[i]}`;
}

/** The button's label and the note beside it, opted out or not. @param {boolean} out */
export function optLabel(out) {
  return out ? 'Use peers again' : 'Stop sharing with peers';
}
