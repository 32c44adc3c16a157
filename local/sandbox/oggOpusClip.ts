/**
 * A short voice note as WhatsApp records one: Ogg-encapsulated Opus (RFC 7845), mono, 48 kHz.
 * The audio is silence (the 3-byte Opus packet for one 20 ms frame of it), which is enough for the
 * sandbox to send a real `audio/ogg; codecs=opus` file without an encoder.
 */

const SAMPLES_PER_FRAME = 960; // 20 ms at 48 kHz
/** TOC 0xF8 (CELT-only, fullband, 20 ms, mono, one frame) followed by a frame that decodes to silence. */
const SILENT_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
const PRE_SKIP = 312;
const SERIAL = 0x5a17b0e5;

export function oggOpusClip(seconds = 1): Buffer {
  const frames = Math.max(1, Math.round((seconds * 1000) / 20));
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head.writeUInt8(1, 8); // version
  head.writeUInt8(1, 9); // channels
  head.writeUInt16LE(PRE_SKIP, 10);
  head.writeUInt32LE(48_000, 12); // input sample rate
  head.writeInt16LE(0, 16); // output gain
  head.writeUInt8(0, 18); // channel mapping family
  const vendor = Buffer.from('whatsapp-bridge sandbox', 'utf8');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendor.length); // no user comments

  const pages = [page([head], 0n, 0, 0x02), page([tags], 0n, 1, 0x00)];
  // Up to 255 packets (one lacing value each, since each is under 255 bytes) fit one page.
  let sequence = 2;
  for (let sent = 0; sent < frames; ) {
    const count = Math.min(255, frames - sent);
    sent += count;
    const granule = BigInt(PRE_SKIP + sent * SAMPLES_PER_FRAME);
    pages.push(page(Array.from({ length: count }, () => SILENT_FRAME), granule, sequence++, sent === frames ? 0x04 : 0x00));
  }
  return Buffer.concat(pages);
}

/** One Ogg page holding whole packets (each under 255 bytes), with its CRC. */
function page(packets: Buffer[], granule: bigint, sequence: number, headerType: number): Buffer {
  const lacing = packets.flatMap((packet) => {
    const values = new Array<number>(Math.floor(packet.length / 255)).fill(255);
    return [...values, packet.length % 255];
  });
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'ascii');
  header.writeUInt8(0, 4); // stream structure version
  header.writeUInt8(headerType, 5);
  header.writeBigUInt64LE(granule, 6);
  header.writeUInt32LE(SERIAL, 14);
  header.writeUInt32LE(sequence, 18);
  header.writeUInt32LE(0, 22); // CRC, filled in below
  header.writeUInt8(lacing.length, 26);
  Buffer.from(lacing).copy(header, 27);
  const bytes = Buffer.concat([header, ...packets]);
  bytes.writeUInt32LE(oggCrc(bytes), 22);
  return bytes;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value and final XOR 0. */
export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc >>> 0;
}
