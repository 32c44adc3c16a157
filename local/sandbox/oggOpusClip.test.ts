import { describe, expect, it } from 'vitest';
import { oggCrc, oggOpusClip } from './oggOpusClip.js';

/** Splits an Ogg stream into pages, checking each page's CRC as a demuxer does. */
function pagesOf(stream: Buffer) {
  const pages = [];
  for (let offset = 0; offset < stream.length; ) {
    expect(stream.toString('ascii', offset, offset + 4)).toBe('OggS');
    const segments = stream.readUInt8(offset + 26);
    const lacing = [...stream.subarray(offset + 27, offset + 27 + segments)];
    const length = 27 + segments + lacing.reduce((a, b) => a + b, 0);
    const bytes = Buffer.from(stream.subarray(offset, offset + length));
    const crc = bytes.readUInt32LE(22);
    bytes.writeUInt32LE(0, 22);
    expect(oggCrc(bytes), `CRC of page at ${offset}`).toBe(crc);
    pages.push({
      headerType: bytes.readUInt8(5),
      granule: bytes.readBigUInt64LE(6),
      sequence: bytes.readUInt32LE(18),
      packets: lacing.length,
      body: bytes.subarray(27 + segments),
    });
    offset += length;
  }
  return pages;
}

describe('oggOpusClip', () => {
  it('uses the Ogg CRC (its check value for "123456789" is 0x89A1897F)', () => {
    expect(oggCrc(Buffer.from('123456789')).toString(16)).toBe('89a1897f');
  });

  it('is an Ogg Opus stream: OpusHead, OpusTags, then 50 frames of 20 ms for a second, ending the stream', () => {
    const pages = pagesOf(oggOpusClip(1));
    expect(pages.map((p) => p.sequence)).toEqual([0, 1, 2]);
    expect(pages[0]!.headerType).toBe(0x02);
    expect(pages[0]!.body.toString('ascii', 0, 8)).toBe('OpusHead');
    expect(pages[0]!.body.readUInt8(9)).toBe(1);
    expect(pages[0]!.body.readUInt32LE(12)).toBe(48_000);
    expect(pages[1]!.body.toString('ascii', 0, 8)).toBe('OpusTags');
    expect(pages[2]).toMatchObject({ headerType: 0x04, packets: 50, granule: BigInt(312 + 50 * 960) });
  });

  it('spreads a longer clip over pages of at most 255 packets', () => {
    const pages = pagesOf(oggOpusClip(6));
    expect(pages.slice(2).map((p) => p.packets)).toEqual([255, 45]);
    expect(pages.at(-1)!.granule).toBe(BigInt(312 + 300 * 960));
  });
});
