"""Checks an image package with Microsoft's azuresphere-imagemetadata
library: it must parse, be of image type Applications, carry the expected
ComponentId and have a valid development signature. Prints the metadata
as the library shows it; exits 1 with the reasons otherwise.

Usage: check_package.py PACKAGE COMPONENT_ID"""

import sys

from azuresphere_imagemetadata.image import Image
from azuresphere_imagemetadata.metadata_sections.identity import ImageType
from azuresphere_imagemetadata.metadata_sections.signature import SigningType
from azuresphere_imagemetadata.signing.app_development import AppDevelopmentSigner

path, expected = sys.argv[1], sys.argv[2].lower()
with open(path, "rb") as file:
    data = file.read()
try:
    image = Image(data)
except Exception as error:  # the library raises its own and struct errors
    print(f"{path}: the library cannot parse it: {error!r}")
    sys.exit(1)
problems = []
identity = image.metadata.identity
if identity is None:
    problems.append("no Identity section")
else:
    if identity.image_type != ImageType.Applications:
        problems.append(f"image type {ImageType.get_name(identity.image_type)}, not Applications")
    if identity.component_uid.lower() != expected:
        problems.append(f"ComponentId {identity.component_uid}, not {expected}")
if not image.has_valid_signature():
    problems.append("the signature is not a valid development signature")
# A device finds the signing certificate by the thumbprint the Signature
# section names: it must be the development signer's, with ECDSA P-256.
section = image.metadata.signature
if section is None:
    problems.append("no Signature section")
else:
    expected_thumbprint = AppDevelopmentSigner().thumbprint(SigningType.ECDsa256)
    if section.signing_cert_thumbprint.hex() != expected_thumbprint:
        problems.append(f"the Signature section names certificate {section.signing_cert_thumbprint.hex()}, not {expected_thumbprint}")
    if section.signing_type.signing_type != SigningType.ECDsa256:
        problems.append(f"signing type {section.signing_type.signing_type}, not ECDsa256")
signer, signing_type = image.resolve_signer_and_type()
print(f"{path}: {len(data)} bytes, file system image {len(image.data)} bytes")
print(image.metadata, end="")
print(f"  signature valid: {image.has_valid_signature()} (signing type {signing_type})")
if problems:
    print("problems: " + "; ".join(problems))
    sys.exit(1)
print("accepted by azuresphere-imagemetadata")
