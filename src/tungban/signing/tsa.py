"""The platform's RFC 3161 time-stamping authority, in process.

pyHanko asks a :class:`pyhanko.sign.timestamps.api.TimeStamper` for a time stamp over each
signature value; this one answers from the platform TSA key instead of over HTTP. The
response is a ``TimeStampResp`` whose token is CMS ``SignedData`` over a ``TSTInfo``
(RFC 3161 §2.4.2), built and signed by pyHanko's CMS signer.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from asn1crypto import cms, keys, tsp, x509
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

#: The TSA policy (RFC 3161 §2.4.2 ``policy``): an OID from the UUID arc 2.25 (ITU-T X.667),
#: which needs no registration.
TSA_POLICY = "2.25.117294427391838522398472089215302713190"


class PlatformTimeStamper(TimeStamper):
    """Time stamps signed by the TSA certificate ``tsa_cert`` (extKeyUsage timeStamping)."""

    def __init__(self, tsa_cert: x509.Certificate, tsa_key: keys.PrivateKeyInfo, chain: list[x509.Certificate]):
        super().__init__(include_nonce=True)
        self.tsa_cert = tsa_cert
        self._signer = SimpleSigner(
            signing_cert=tsa_cert,
            signing_key=tsa_key,
            cert_registry=SimpleCertificateStore.from_certs(chain),
            embed_roots=True,
        )

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        info = {
            "version": "v1",
            "policy": TSA_POLICY,
            "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(127),
            "gen_time": datetime.now(UTC),
            "tsa": x509.GeneralName(name="directory_name", value=self.tsa_cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        content = cms.EncapsulatedContentInfo(
            {"content_type": "tst_info", "content": cms.ParsableOctetString(tsp.TSTInfo(info).dump())}
        )
        token = await self._signer.async_sign_general_data(content, "sha256", detached=False)
        return tsp.TimeStampResp({"status": tsp.PKIStatusInfo({"status": "granted"}), "time_stamp_token": token})
