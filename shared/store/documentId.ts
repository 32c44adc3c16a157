/**
 * Whether Firestore can hold `id` as a document id: no `/`, not `.` or `..`, not `__…__`, at most
 * 1500 bytes. Firestore throws on anything else rather than answering "no such document".
 */
export function isDocumentId(id: string): boolean {
  return id.length > 0 && !id.includes('/') && id !== '.' && id !== '..' && !/^__.*__$/.test(id) && Buffer.byteLength(id) <= 1500;
}
