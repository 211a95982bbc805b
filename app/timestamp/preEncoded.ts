// DER the library encoded once, reused verbatim inside structures it encodes again. The built-in
// TSA stamps every registered mail twice, and re-encoding its constant parts through the ASN.1
// object model (the certificate above all) cost more than the signature itself.
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
