// Not persistent: stopping the server also deletes its files.
export default async function globalTeardown() {
  await globalThis.__ledgerTestPg?.stop();
}
