// ePost proofs: building the send and delivery proof documents, sealing them (XML signature plus a
// XAdES signature timestamp) and verifying sealed proofs.
export {
  PROOF_NS,
  type DeliveryProofData,
  type DocumentFacts,
  type ProofKind,
  type ProofParty,
  type ProofRecipient,
  type SendProofData,
} from './model.js';
export { buildDeliveryProof, buildSendProof } from './build.js';
export { ProofSealer, type ProofSealerOptions } from './seal.js';
export { verifySealedProof, type VerifiedProof } from './verify.js';
