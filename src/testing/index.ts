// Test helpers for apps built on kvs-parser (exported as "kvs-parser/testing").
export {};
