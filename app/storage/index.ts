export { openDatabase, type Database } from './database.js';
export { DataVault, loadDataVault, type Sealed } from './vault.js';
export { isUniqueViolation } from './constraints.js';
