export { openDatabase, type Database } from './database.js';
export { DataVault, loadDataVault, type Sealed } from './vault.js';
export { isUniqueViolation } from './constraints.js';
export { readDocument, storeDocument } from './documents.js';
