export { openDatabase, type Database } from './database.js';
export { isPostgres } from './dialect.js';
export { DataVault, loadDataVault, type Sealed } from './vault.js';
export { isUniqueViolation } from './constraints.js';
export { openFromStorage, readDocument, sealForStorage, storeDocument, type SealedColumns } from './documents.js';
export { transactionsFor, type Transactions } from './groupCommit.js';
export { insertInto, insertRows, statementsOf, type InsertOptions, type Statement, type Statements } from './statements.js';
export { startWalCheckpointer, type WalCheckpointer } from './checkpointer.js';
