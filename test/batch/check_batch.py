#!/usr/bin/python3
"""Independent check of an ePost batch, sharing no code with ePost: the sealed META-INF/manifest.xml
is verified by xmlsec1 against the given root certificate, then every file of the ZIP must be listed
in it with its exact SHA-256 and size, and every listed file must be there; each mail's evidence
bundle is opened and its evidences verified by xmlsec1 too. Prints OK and exits 0, or names the
first failure and exits 1.

usage: check_batch.py <batch.zip> <root-ca.pem>
"""
import base64
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile

from lxml import etree

NS = {'e': 'urn:epost:evidence:v1'}


def fail(reason):
    print('FAILED: ' + reason)
    sys.exit(1)


def xmlsec_verify(xml_bytes, root, what):
    with tempfile.NamedTemporaryFile(suffix='.xml') as f:
        f.write(xml_bytes)
        f.flush()
        done = subprocess.run(['xmlsec1', '--verify', '--trusted-pem', root, f.name], capture_output=True, text=True)
        if done.returncode != 0:
            fail(what + ': xmlsec1 refuses the signature: ' + done.stderr.strip().splitlines()[-1])


def check(path, root):
    archive = zipfile.ZipFile(path)
    names = set(archive.namelist())
    if archive.read('mimetype') != b'application/vnd.epost.batch+zip':
        fail('not an ePost batch')
    listing = archive.read('META-INF/manifest.xml')
    xmlsec_verify(listing, root, 'META-INF/manifest.xml')
    doc = etree.fromstring(listing, etree.XMLParser(resolve_entities=False, no_network=True))
    listed = set()
    for entry in doc.findall('e:Entry', NS):
        name = entry.get('Path')
        listed.add(name)
        if name not in names:
            fail(name + ': listed but missing')
        data = archive.read(name)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        if digest != entry.find('e:Digest', NS).text or len(data) != int(entry.get('Size')):
            fail(name + ': SHA-256 or size differs from the sealed manifest')
        if entry.get('Role') == 'evidence-bundle':
            bundle = zipfile.ZipFile(io.BytesIO(data))
            for inner in sorted(n for n in bundle.namelist() if n.startswith('evidence/') and n.endswith('.xml')):
                xmlsec_verify(bundle.read(inner), root, name + '!' + inner)
    extra = names - listed - {'mimetype', 'META-INF/manifest.xml'}
    if extra:
        fail(', '.join(sorted(extra)) + ': not listed in the sealed manifest')
    print('OK %d files' % len(listed))


if __name__ == '__main__':
    check(sys.argv[1], sys.argv[2])
