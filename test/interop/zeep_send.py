"""An independent SOAP client for ePost: Python zeep, built from the WSDL the service publishes,
signing with zeep's own BinarySignature WS-Security plugin (xmlsec). It shares no code with ePost.

usage: zeep_send.py <wsdl-url> <tls-ca.pem> <cert.pem> <key.pem> <sha256|sha1> <ssin>
prints one JSON line: {"registeredMailId": ..., "sendProofBytes": ...} or {"fault": code, "reason": ...}
"""
import base64
import hashlib
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

import requests
import xmlsec
from lxml import etree
from zeep import Client
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsse.signature import BinarySignature
from zeep.wsse.utils import WSU, ensure_id, get_security_header

wsdl_url, ca_file, cert_file, key_file, mode, ssin = sys.argv[1:7]


class TimestampedBinarySignature(BinarySignature):
    """zeep's BinarySignature, after adding a wsu:Timestamp to the Security header (zeep signs a
    Timestamp it finds there together with the Body). One plugin rather than a list: this zeep
    version calls verify() on the list itself when the answer arrives."""

    def apply(self, envelope, headers):
        security = get_security_header(envelope)
        created = datetime.now(timezone.utc).replace(microsecond=0)
        timestamp = WSU("Timestamp")
        timestamp.append(WSU("Created", created.strftime("%Y-%m-%dT%H:%M:%SZ")))
        timestamp.append(WSU("Expires", (created + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")))
        ensure_id(timestamp)
        security.append(timestamp)
        return super().apply(envelope, headers)

    def verify(self, envelope):
        # ePost answers are not signed envelopes: the proof inside them carries its own seal.
        return envelope


algorithms = (
    {"signature_method": xmlsec.Transform.RSA_SHA256, "digest_method": xmlsec.Transform.SHA256}
    if mode == "sha256"
    else {}  # zeep's defaults: RSA-SHA1 and SHA-1
)
session = requests.Session()
session.verify = ca_file
# REQUESTS_CA_BUNDLE and friends would otherwise override session.verify (a known requests quirk).
session.trust_env = False
client = Client(wsdl_url, transport=Transport(session=session), wsse=TimestampedBinarySignature(key_file, cert_file, **algorithms))

content = ("zeep interop document " + str(uuid.uuid4())).encode()
try:
    result = client.service.SendRegisteredMail(
        SenderReference="zeep-" + str(uuid.uuid4()),
        Recipient={"SSIN": ssin},
        Subject="Sent by Python zeep",
        Document={
            "FileName": "zeep.txt",
            "MimeType": "text/plain",
            "Content": content,
            "Digest": {"_value_1": hashlib.sha256(content).digest(), "DigestMethod": "http://www.w3.org/2001/04/xmlenc#sha256"},
        },
        Language="en",
    )
    proof = result["SendProof"]
    etree.fromstring(proof)  # a well-formed standalone XML document
    print(json.dumps({"registeredMailId": result["RegisteredMailId"], "sendProofBytes": len(proof)}))
except Fault as fault:
    print(json.dumps({"fault": fault.code, "reason": fault.message}))
