import { Timestamp, type DocumentData } from '@google-cloud/firestore';

/** A record as a Firestore document: unset fields are left out rather than written as undefined. */
export function toDocument(record: object): DocumentData {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** A Firestore document as a record: timestamps come back as Dates. */
export function fromDocument<T>(data: DocumentData): T {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, value instanceof Timestamp ? value.toDate() : value]),
  ) as T;
}

/** The id of a per-user document: the business number and the user, so one user of two numbers has two. */
export function userDocumentId(phoneNumberId: string, userId: string): string {
  return `${encodeURIComponent(phoneNumberId)}:${encodeURIComponent(userId)}`;
}
