// The web reader's interface labels in French, Dutch, German and English. Texts the senders wrote
// (subjects, file names) are shown as they are; only the interface is translated.
import type { Language } from '../messageTypes.js';

export interface Labels {
  htmlTitle: string;
  skipToContent: string;
  languageNav: string;
  yourEboxes: string;
  citizenEbox: string;
  enterpriseEbox: (enterpriseNumber: string) => string;
  messagesCaption: (total: number) => string;
  noMessages: string;
  subject: string;
  sender: string;
  received: string;
  expires: string;
  status: string;
  registeredMail: string;
  /** A message of ePost itself, not a registered mail. */
  notice: string;
  noticeText: string;
  unread: string;
  read: string;
  backToMessages: string;
  document: string;
  fileName: string;
  size: string;
  digest: string;
  download: string;
  handoverNotice: string;
  openedOn: string;
  proofs: string;
  noProofs: string;
  proofKind: (kind: string) => string;
  issuedOn: string;
  pdfReproduction: string;
  pages: string;
  previousPage: string;
  nextPage: string;
  pageOf: (page: number, pages: number) => string;
  asMandatary: (mandator: string) => string;
  asEnterpriseUser: (enterprise: string) => string;
  signedInAs: (name: string) => string;
  unauthorizedTitle: string;
  unauthorizedText: string;
  notFoundTitle: string;
  notFoundText: string;
  errorTitle: string;
  errorText: string;
}

const PROOF_KINDS: Record<Language, Record<string, string>> = {
  fr: {
    SendProof: "Preuve d'envoi",
    SubmissionAcceptance: "Preuve d'envoi",
    DeliveryProof: 'Preuve de dépôt dans l’eBox',
    ContentConsignment: 'Preuve de dépôt dans l’eBox',
    ContentHandover: 'Preuve de remise (première ouverture)',
    ContentHandoverFailure: 'Preuve d’expiration',
  },
  nl: {
    SendProof: 'Bewijs van verzending',
    SubmissionAcceptance: 'Bewijs van verzending',
    DeliveryProof: 'Bewijs van aflevering in de eBox',
    ContentConsignment: 'Bewijs van aflevering in de eBox',
    ContentHandover: 'Bewijs van overhandiging (eerste opening)',
    ContentHandoverFailure: 'Bewijs van vervallen',
  },
  de: {
    SendProof: 'Versandnachweis',
    SubmissionAcceptance: 'Versandnachweis',
    DeliveryProof: 'Zustellnachweis in die eBox',
    ContentConsignment: 'Zustellnachweis in die eBox',
    ContentHandover: 'Übergabenachweis (erstes Öffnen)',
    ContentHandoverFailure: 'Ablaufnachweis',
  },
  en: {
    SendProof: 'Proof of sending',
    SubmissionAcceptance: 'Proof of sending',
    DeliveryProof: 'Proof of delivery into the eBox',
    ContentConsignment: 'Proof of delivery into the eBox',
    ContentHandover: 'Proof of handover (first opening)',
    ContentHandoverFailure: 'Proof of expiry',
  },
};

export const LABELS: Readonly<Record<Language, Labels>> = {
  fr: {
    htmlTitle: 'eBox — lecteur',
    skipToContent: 'Aller au contenu',
    languageNav: 'Langue',
    yourEboxes: 'Vos eBox',
    citizenEbox: 'Mon eBox',
    enterpriseEbox: (n) => `eBox de l’entreprise ${n}`,
    messagesCaption: (n) => `Messages (${n})`,
    noMessages: 'Aucun message.',
    subject: 'Objet',
    sender: 'Expéditeur',
    received: 'Reçu le',
    expires: 'Expire le',
    status: 'Statut',
    registeredMail: 'Recommandé',
    notice: 'Avis ePost',
    noticeText: "Ce message est un avis d'ePost, pas un envoi recommandé : son ouverture n'est pas une remise.",
    unread: 'Non lu',
    read: 'Lu',
    backToMessages: 'Retour aux messages',
    document: 'Document',
    fileName: 'Nom du fichier',
    size: 'Taille',
    digest: 'Empreinte SHA-256',
    download: 'Télécharger le document',
    handoverNotice: "Le premier téléchargement du document vaut remise : l'expéditeur en reçoit la preuve.",
    openedOn: 'Ouvert le',
    proofs: 'Preuves',
    noProofs: 'Aucune preuve.',
    proofKind: (k) => PROOF_KINDS.fr[k] ?? k,
    issuedOn: 'émise le',
    pdfReproduction: 'Reproduction PDF',
    pages: 'Pages',
    previousPage: 'Page précédente',
    nextPage: 'Page suivante',
    pageOf: (p, n) => `Page ${p} sur ${n}`,
    asMandatary: (m) => `Vous lisez cette eBox comme mandataire de l’entreprise ${m}.`,
    asEnterpriseUser: (e) => `Vous lisez cette eBox pour l’entreprise ${e}.`,
    signedInAs: (name) => `Connecté : ${name}`,
    unauthorizedTitle: 'Accès refusé',
    unauthorizedText: "Présentez votre carte d'identité électronique (certificat d'authentification) pour lire votre eBox, à l'adresse sécurisée par certificat client.",
    notFoundTitle: 'Introuvable',
    notFoundText: "Cette page ou ce message n'existe pas ou n'est pas accessible.",
    errorTitle: 'Service indisponible',
    errorText: 'Le service ne peut pas répondre pour le moment. Réessayez plus tard.',
  },
  nl: {
    htmlTitle: 'eBox — lezer',
    skipToContent: 'Naar de inhoud',
    languageNav: 'Taal',
    yourEboxes: 'Uw eBoxen',
    citizenEbox: 'Mijn eBox',
    enterpriseEbox: (n) => `eBox van onderneming ${n}`,
    messagesCaption: (n) => `Berichten (${n})`,
    noMessages: 'Geen berichten.',
    subject: 'Onderwerp',
    sender: 'Afzender',
    received: 'Ontvangen op',
    expires: 'Vervalt op',
    status: 'Status',
    registeredMail: 'Aangetekend',
    notice: 'ePost-bericht',
    noticeText: 'Dit is een bericht van ePost, geen aangetekende zending: het openen ervan is geen overhandiging.',
    unread: 'Ongelezen',
    read: 'Gelezen',
    backToMessages: 'Terug naar de berichten',
    document: 'Document',
    fileName: 'Bestandsnaam',
    size: 'Grootte',
    digest: 'SHA-256-vingerafdruk',
    download: 'Het document downloaden',
    handoverNotice: 'De eerste download van het document geldt als overhandiging: de afzender krijgt daar een bewijs van.',
    openedOn: 'Geopend op',
    proofs: 'Bewijzen',
    noProofs: 'Geen bewijzen.',
    proofKind: (k) => PROOF_KINDS.nl[k] ?? k,
    issuedOn: 'uitgereikt op',
    pdfReproduction: 'PDF-weergave',
    pages: 'Pagina’s',
    previousPage: 'Vorige pagina',
    nextPage: 'Volgende pagina',
    pageOf: (p, n) => `Pagina ${p} van ${n}`,
    asMandatary: (m) => `U leest deze eBox als gevolmachtigde van onderneming ${m}.`,
    asEnterpriseUser: (e) => `U leest deze eBox voor onderneming ${e}.`,
    signedInAs: (name) => `Aangemeld: ${name}`,
    unauthorizedTitle: 'Toegang geweigerd',
    unauthorizedText: 'Gebruik uw elektronische identiteitskaart (authenticatiecertificaat) op het adres met clientcertificaat om uw eBox te lezen.',
    notFoundTitle: 'Niet gevonden',
    notFoundText: 'Deze pagina of dit bericht bestaat niet of is niet toegankelijk.',
    errorTitle: 'Dienst niet beschikbaar',
    errorText: 'De dienst kan nu niet antwoorden. Probeer later opnieuw.',
  },
  de: {
    htmlTitle: 'eBox — Leser',
    skipToContent: 'Zum Inhalt',
    languageNav: 'Sprache',
    yourEboxes: 'Ihre eBoxen',
    citizenEbox: 'Meine eBox',
    enterpriseEbox: (n) => `eBox des Unternehmens ${n}`,
    messagesCaption: (n) => `Nachrichten (${n})`,
    noMessages: 'Keine Nachrichten.',
    subject: 'Betreff',
    sender: 'Absender',
    received: 'Empfangen am',
    expires: 'Läuft ab am',
    status: 'Status',
    registeredMail: 'Einschreiben',
    notice: 'ePost-Mitteilung',
    noticeText: 'Dies ist eine Mitteilung von ePost, kein Einschreiben: ihr Öffnen ist keine Übergabe.',
    unread: 'Ungelesen',
    read: 'Gelesen',
    backToMessages: 'Zurück zu den Nachrichten',
    document: 'Dokument',
    fileName: 'Dateiname',
    size: 'Größe',
    digest: 'SHA-256-Prüfsumme',
    download: 'Dokument herunterladen',
    handoverNotice: 'Das erste Herunterladen des Dokuments gilt als Übergabe: Der Absender erhält einen Nachweis darüber.',
    openedOn: 'Geöffnet am',
    proofs: 'Nachweise',
    noProofs: 'Keine Nachweise.',
    proofKind: (k) => PROOF_KINDS.de[k] ?? k,
    issuedOn: 'ausgestellt am',
    pdfReproduction: 'PDF-Wiedergabe',
    pages: 'Seiten',
    previousPage: 'Vorherige Seite',
    nextPage: 'Nächste Seite',
    pageOf: (p, n) => `Seite ${p} von ${n}`,
    asMandatary: (m) => `Sie lesen diese eBox als Bevollmächtigter des Unternehmens ${m}.`,
    asEnterpriseUser: (e) => `Sie lesen diese eBox für das Unternehmen ${e}.`,
    signedInAs: (name) => `Angemeldet: ${name}`,
    unauthorizedTitle: 'Zugriff verweigert',
    unauthorizedText: 'Verwenden Sie Ihren elektronischen Personalausweis (Authentifizierungszertifikat) unter der Adresse mit Client-Zertifikat, um Ihre eBox zu lesen.',
    notFoundTitle: 'Nicht gefunden',
    notFoundText: 'Diese Seite oder Nachricht existiert nicht oder ist nicht zugänglich.',
    errorTitle: 'Dienst nicht verfügbar',
    errorText: 'Der Dienst kann gerade nicht antworten. Bitte versuchen Sie es später erneut.',
  },
  en: {
    htmlTitle: 'eBox — reader',
    skipToContent: 'Skip to content',
    languageNav: 'Language',
    yourEboxes: 'Your eBoxes',
    citizenEbox: 'My eBox',
    enterpriseEbox: (n) => `eBox of enterprise ${n}`,
    messagesCaption: (n) => `Messages (${n})`,
    noMessages: 'No messages.',
    subject: 'Subject',
    sender: 'Sender',
    received: 'Received',
    expires: 'Expires',
    status: 'Status',
    registeredMail: 'Registered mail',
    notice: 'ePost notice',
    noticeText: 'This is a notice from ePost, not a registered mail: opening it is no handover.',
    unread: 'Unread',
    read: 'Read',
    backToMessages: 'Back to the messages',
    document: 'Document',
    fileName: 'File name',
    size: 'Size',
    digest: 'SHA-256 digest',
    download: 'Download the document',
    handoverNotice: 'The first download of the document counts as its handover: the sender receives evidence of it.',
    openedOn: 'Opened',
    proofs: 'Proofs',
    noProofs: 'No proofs.',
    proofKind: (k) => PROOF_KINDS.en[k] ?? k,
    issuedOn: 'issued',
    pdfReproduction: 'PDF reproduction',
    pages: 'Pages',
    previousPage: 'Previous page',
    nextPage: 'Next page',
    pageOf: (p, n) => `Page ${p} of ${n}`,
    asMandatary: (m) => `You read this eBox as a mandatary of enterprise ${m}.`,
    asEnterpriseUser: (e) => `You read this eBox for enterprise ${e}.`,
    signedInAs: (name) => `Signed in: ${name}`,
    unauthorizedTitle: 'Access refused',
    unauthorizedText: 'Present your electronic identity card (authentication certificate) at the client-certificate address to read your eBox.',
    notFoundTitle: 'Not found',
    notFoundText: 'This page or message does not exist or is not accessible.',
    errorTitle: 'Service unavailable',
    errorText: 'The service cannot answer now. Please try again later.',
  },
};
