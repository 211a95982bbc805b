// What the batch channel needs at run time is what the eBox needs (the batch channel is a way out of
// the enterprise eBox): the service context satisfies both.
export type { EboxContext as BatchContext } from '../ebox/index.js';
