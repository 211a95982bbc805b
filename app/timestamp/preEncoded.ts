// DER the library encoded once, reused verbatim inside structures it encodes again. The built-in
// TSA stamps every registered mail twice, and re-encoding its constant parts through the ASN.1
// object model (the certificate above all) cost more than the signature itself.
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';

/**
 * A block whose encoding is known: asn1-schema takes it wherever a model object is expected (it
 * calls toASN() on convertible objects), and asn1js containers ask their children for
 * toBER(sizeOnly, writer), so the tags and lengths around these bytes are still asn1js's.
 */
export class PreEncoded extends asn1js.BaseBlock {
  private readonly der: Uint8Array;

  constructor(der: ArrayBuffer | Uint8Array) {
    super();
    this.der = new Uint8Array(der instanceof Uint8Array ? der.slice() : der.slice(0));
  }

  override toBER(sizeOnly?: boolean, writer?: asn1js.ViewWriter): ArrayBuffer {
    const bytes = sizeOnly ? new Uint8Array(this.der.byteLength) : this.der;
    if (writer) {
      writer.write(bytes);
      return new ArrayBuffer(0);
    }
    return bytes.slice().buffer;
  }

  toASN(): asn1js.BaseBlock {
    return this;
  }

  fromASN(): never {
    throw new Error('Pre-encoded DER is only written, never parsed');
  }

  /** This block typed as the model object it stands for. */
  as<T>(): T {
    return this as unknown as T;
  }
}

/**
 * DER that asn1js encoded once around placeholder elements, filled again and again with elements of
 * the same lengths: every tag and length stays asn1js's, and only the placeholders' bytes change.
 * A placeholder is random bytes, found in the encoding by search; should one ever occur twice (or
 * two overlap), the template is encoded again with other random bytes.
 */
export class DerTemplate {
  private constructor(
    private readonly bytes: Buffer,
    private readonly offsets: number[],
    private readonly lengths: number[],
  ) {}

  static encode(lengths: number[], encode: (placeholders: PreEncoded[]) => Buffer): DerTemplate {
    return DerTemplate.around(lengths, (placeholders) => encode(placeholders.map((p) => new PreEncoded(p))));
  }

  /**
   * A primitive value's encoding (an OCTET STRING, an INTEGER) with a placeholder as its content:
   * filled with content of the same length, the tag and length stay asn1js's. For content whose DER
   * is the bytes themselves (an INTEGER's must already be minimal); should asn1js ever change them,
   * the placeholder is not found and this throws instead of encoding wrongly.
   */
  static encodeContent(length: number, encode: (content: Uint8Array) => Buffer): DerTemplate {
    return DerTemplate.around([length], ([content]) => encode(content!));
  }

  private static around(lengths: number[], encode: (placeholders: Buffer[]) => Buffer): DerTemplate {
    for (let attempt = 0; attempt < 8; attempt++) {
      const placeholders = lengths.map((length) => randomBytes(length));
      const bytes = encode(placeholders);
      const offsets = placeholders.map((p) => (bytes.indexOf(p) === bytes.lastIndexOf(p) ? bytes.indexOf(p) : -1));
      const spans = offsets.map((offset, i) => [offset, offset + lengths[i]!] as const).sort((a, b) => a[0] - b[0]);
      const disjoint = spans.every(([start], i) => start >= 0 && (i === 0 || start >= spans[i - 1]![1]));
      if (disjoint) return new DerTemplate(bytes, offsets, lengths);
    }
    throw new Error('The placeholders of a DER template could not be told apart');
  }

  /** The encoding with these elements in the placeholders' places, in order. */
  fill(elements: Uint8Array[]): Buffer {
    const out = Buffer.from(this.bytes);
    elements.forEach((element, i) => {
      if (element.length !== this.lengths[i]) throw new Error(`Element ${i} of a DER template must be ${this.lengths[i]} bytes, not ${element.length}`);
      out.set(element, this.offsets[i]);
    });
    return out;
  }
}
