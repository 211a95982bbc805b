// ePost evidences: building the evidence document of every event of a registered mail (ETSI EN
// 319 522 events), sealing them (XAdES B-T: XML signature plus signature timestamp, key in a file or
// a PKCS#11 token), verifying them, storing them in order, exporting a mail's evidence bundle and
// rendering its readable reproduction (PDF).
export {
  EVIDENCE_NS,
  EVIDENCE_EVENTS,
  EVENT_DESCRIPTIONS,
  EXPIRY_REASON,
  eventUri,
  type DocumentFacts,
  type EBoxFacts,
  type EvidenceEvent,
  type EvidenceFacts,
  type EvidenceLink,
  type EvidenceReason,
  type ProofParty,
  type ProofRecipient,
} from './model.js';
export { buildEvidence, evidenceFollowing, followingEvidence, linkTo, readEvidence, type FollowingEvent } from './build.js';
export { sealerFromConfig, sealingKeyFromConfig } from './fromConfig.js';
export { ProofSealer, type ProofSealerKeyOptions, type ProofSealerOptions } from './seal.js';
export { fileSealingKey, pkcs11SealingKey, type Pkcs11KeyOptions, type Pkcs11SealingKey, type SealingKey } from './sealingKey.js';
export { verifyEvidence, verifySeal, verifySealedProof, type VerifiedEvidence, type VerifiedSeal } from './verify.js';
export { BUNDLE_MEDIA_TYPE, exportEvidenceBundle, isBundle, verifyEvidenceBundle, verifyEvidenceChain, type BundleReport, type EvidenceBundleInput, type VerifyBundleOptions } from './bundle.js';
export { plainTime, renderReproduction, renderReproductionOf } from './reproduce.js';
export { evidenceBundleForSender, evidenceOfMail, latestEvidenceOfMail, recordEvidence, reproductionForSender, storageKindOf, type SenderEvidenceRequest } from './store.js';
export {
  archiveMediaType,
  checkListedDigests,
  isZip,
  openSealedArchive,
  safeFileName,
  sealListing,
  writeArchive,
  type ArchiveFile,
  type OpenedArchive,
  type SealedArchiveShape,
} from './archive.js';
