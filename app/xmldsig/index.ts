// The one strict XML-DSig profile of ePost (requests, proofs): allowlisted algorithm maps for
// xml-crypto that reject SHA-1, MD5 and HMAC, the ECDSA and SHA-384 classes xml-crypto lacks, and the
// verification of a signature on an already-parsed document.
export {
  DIGEST_ALGORITHMS,
  DSIG_NS,
  ECDSA_SHA256,
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  EcdsaSha256,
  EcdsaSha384,
  EcdsaSha512,
  RSA_SHA256,
  SHA256_DIGEST_URI,
  SHA384_DIGEST_URI,
  SHA512_DIGEST_URI,
  SIGNATURE_ALGORITHMS,
  Sha384,
  StrictSignedXml,
  digestHashByUri,
  isAcceptedDigestUri,
  signatureAlgorithmByUri,
  signatureAlgorithmClass,
  verifySignatureValue,
} from './algorithms.js';
export type { KeyType, SignatureAlgorithmName, SignatureAlgorithmSpec, StrictProfile } from './algorithms.js';
export { ancestorNamespaces, exclusiveCanonical, referenceDigestMatches, signedInfoVerifies } from './verify.js';
export type { NamespaceBinding, ReferenceCheck, SignedInfoCheck } from './verify.js';
