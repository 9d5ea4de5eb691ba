"""Writes the app test signing key and certificate that Microsoft's
azuresphere-imagemetadata library ships (development signing, accepted by
boards in development mode) as PKCS#8 DER and certificate DER files in the
folder given, for `cargo xtask mt3620 package` to sign with."""

import pathlib
import sys

import azuresphere_imagemetadata
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

folder = pathlib.Path(sys.argv[1])
bundle_path = pathlib.Path(azuresphere_imagemetadata.__file__).parent / "certificates" / "app_test_sign.pfx"
bundle = pkcs12.load_pkcs12(bundle_path.read_bytes(), None)
folder.mkdir(parents=True, exist_ok=True)
(folder / "app_test_sign.pk8").write_bytes(bundle.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
(folder / "app_test_sign.cer").write_bytes(bundle.cert.certificate.public_bytes(Encoding.DER))
print(f"exported the app test key from {bundle_path}")
