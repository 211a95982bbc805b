"""Signs a SOAP envelope the way Python zeep's BinarySignature plugin does (libxmlsec1 through
python-xmlsec), after adding a wsu:Timestamp: an independent implementation of the request profile.

usage: zeep_sign.py <cert.pem> <key.pem> <sha256|sha1>  (unsigned envelope on stdin, signed on stdout)
"""
import sys
from datetime import datetime, timedelta, timezone

import xmlsec
from lxml import etree
from zeep.wsse.signature import BinarySignature
from zeep.wsse.utils import WSU, ensure_id, get_security_header

cert_file, key_file, mode = sys.argv[1:4]
envelope = etree.fromstring(sys.stdin.buffer.read())
security = get_security_header(envelope)
created = datetime.now(timezone.utc).replace(microsecond=0)
timestamp = WSU("Timestamp")
timestamp.append(WSU("Created", created.strftime("%Y-%m-%dT%H:%M:%SZ")))
timestamp.append(WSU("Expires", (created + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")))
ensure_id(timestamp)
security.append(timestamp)
algorithms = (
    {"signature_method": xmlsec.Transform.RSA_SHA256, "digest_method": xmlsec.Transform.SHA256}
    if mode == "sha256"
    else {}  # zeep's defaults: RSA-SHA1 and SHA-1
)
envelope, _ = BinarySignature(key_file, cert_file, **algorithms).apply(envelope, {})
sys.stdout.buffer.write(etree.tostring(envelope))
