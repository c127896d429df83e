"""PAdES sealing: the visible seal is the appearance of the signature, placed where the layout says.

Baseline levels (ETSI EN 319 142-1):
  B-B   signature only;
  B-T   plus an RFC 3161 signature timestamp proving when it was made;
  B-LT  plus the certificates and revocation data needed to validate it later (DSS);
  B-LTA plus a document timestamp over all of that, renewable before its algorithms age.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko import stamp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import add_validation_info
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext

from yiyin.errors import SealingError
from yiyin.signing.cms_template import SignedDataTemplate
from yiyin.signing.incremental import SignatureFields, UnsupportedLayout, seal_update
from yiyin.signing.keystore import SealKey
from yiyin.signing.xobject import PreparedAppearance


class PadesLevel(str, Enum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def timestamped(self) -> bool:
        return self is not PadesLevel.B_B

    @property
    def long_term(self) -> bool:
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


@dataclass(frozen=True)
class SealPlacement:
    """Centre of the seal in PDF user space (page index from 0, points from the bottom-left)."""

    page: int
    x: float
    y: float


@dataclass(frozen=True)
class SealRequest:
    reason: str
    location: str
    signer_name: str
    field_name: str = "Seal1"
    level: PadesLevel = PadesLevel.B_B
    #: the last seal of a document: lock it so that only validation data may follow (field /Lock /P 1)
    final: bool = False


@dataclass(frozen=True)
class RevocationMaterial:
    """What B-LT embeds: trust anchors and current revocation data, gathered without network access."""

    trust_roots: list[asn1_x509.Certificate]
    crls: list[bytes] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=self.trust_roots, allow_fetching=False, revocation_mode="hard-fail",
            crls=[asn1_crl.CertificateList.load(c) for c in self.crls],
            ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in self.ocsps],
        )


class Sealer:
    """Seals PDFs with one key and one appearance; built once, used for many documents.

    The sealing revision is written by the lean writer (:mod:`yiyin.signing.incremental`) with
    the CMS completed from a per-key template and the seal picture prepared once; documents whose
    structure it leaves alone (encrypted, cross-reference streams) are sealed by pyHanko. Either
    way the CMS size is reserved from the certificate chains instead of being estimated by
    signing twice, which is where a default pyHanko signing run spends much of its time.
    """

    # ECDSA signature, signed attributes and PAdES signing-certificate-v2, with room to spare
    _CMS_OVERHEAD = 4096

    def __init__(self, key: SealKey, appearance_pdf: Path, diameter_pt: float,
                 timestamper: TimeStamper | None = None, tsa_chain_size: int = 0) -> None:
        self.key = key
        self.diameter_pt = diameter_pt
        self.timestamper = timestamper
        self.appearance_pdf = appearance_pdf
        base = 2 * key.chain_size + self._CMS_OVERHEAD
        self._reserve = {False: self._round_up(base),
                         True: self._round_up(base + 2 * tsa_chain_size + 2 * self._CMS_OVERHEAD)}
        self._prepared: tuple[SignedDataTemplate, PreparedAppearance] | None = None
        self._prepare_lock = threading.Lock()

    def _prepare(self) -> tuple[SignedDataTemplate, PreparedAppearance]:
        """The CMS template and the seal XObject, made on first use (the template signs once)."""
        with self._prepare_lock:
            if self._prepared is None:
                self._prepared = (SignedDataTemplate(self.key.signer), PreparedAppearance(self.appearance_pdf))
            return self._prepared

    @staticmethod
    def _round_up(n: int, to: int = 1024) -> int:
        return (n + to - 1) // to * to

    def seal(self, pdf: bytes, placement: SealPlacement, request: SealRequest) -> bytes:
        """The sealing revision itself: B-B, or B-T when the request's level is timestamped.

        The long-term part of B-LT/B-LTA is added afterwards by :meth:`extend`, so that the caller
        can record the sealed revision before validation data are appended to it.
        """
        if request.level.timestamped and self.timestamper is None:
            raise SealingError(f"PAdES {request.level.value} 级盖章需要时间戳服务（TSA），但没有配置；可用 YIYIN_TSA_URL 指定")
        template, appearance = self._prepare()
        fields = SignatureFields(request.field_name, request.reason, request.location, request.signer_name, request.final)
        timestamper = self.timestamper if request.level.timestamped else None
        try:
            return seal_update(pdf, placement.page, (placement.x, placement.y), appearance, fields,
                               self._reserve[request.level.timestamped], lambda digest: template.build(digest, timestamper))
        except UnsupportedLayout:
            return self.seal_with_pyhanko(pdf, placement, request)
        except SealingError:
            raise
        except Exception as exc:
            raise SealingError(f"盖章（PAdES {request.level.value}）失败：{type(exc).__name__}: {exc}") from exc

    def seal_with_pyhanko(self, pdf: bytes, placement: SealPlacement, request: SealRequest) -> bytes:
        """The same seal written by pyHanko's signer: for inputs the lean writer leaves alone, and
        as the reference the lean writer is compared with."""
        level = request.level
        if level.timestamped and self.timestamper is None:
            raise SealingError(f"PAdES {level.value} 级盖章需要时间戳服务（TSA），但没有配置；可用 YIYIN_TSA_URL 指定")
        r = self.diameter_pt / 2
        box = (round(placement.x - r), round(placement.y - r), round(placement.x + r), round(placement.y + r))
        meta = signers.PdfSignatureMetadata(
            field_name=request.field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=request.reason,
            location=request.location,
            name=request.signer_name,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES if request.final else fields.MDPPerm.FILL_FORMS,
        )
        lock = {}
        if request.final:
            lock = {"field_mdp_spec": fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
                    "doc_mdp_update_value": fields.MDPPerm.NO_CHANGES}
        # A new style per document: pyHanko's imported-page background keeps the resources of every
        # document it was drawn into, so a shared one would carry references to objects of earlier
        # documents into this one's appearance (dangling or, worse, pointing at unrelated objects).
        style = stamp.StaticStampStyle.from_pdf_file(str(self.appearance_pdf), border_width=0)
        signer = signers.PdfSigner(
            meta, self.key.signer, stamp_style=style,
            timestamper=self.timestamper if level.timestamped else None,
            new_field_spec=fields.SigFieldSpec(request.field_name, on_page=placement.page, box=box, **lock),
        )
        out = io.BytesIO()
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            signer.sign_pdf(writer, bytes_reserved=self._reserve[level.timestamped], output=out)
        except SealingError:
            raise
        except Exception as exc:
            raise SealingError(f"盖章（PAdES {level.value}）失败：{type(exc).__name__}: {exc}") from exc
        return out.getvalue()

    def extend(self, pdf: bytes, level: PadesLevel, revocation: RevocationMaterial | None) -> bytes:
        """Add what B-LT (DSS with certificates and revocation data) and B-LTA (document
        timestamp, itself with its validation data) need, as incremental updates."""
        if not level.long_term:
            return pdf
        if revocation is None or self.timestamper is None:
            raise SealingError(f"PAdES {level.value} 级需要吊销信息（CRL/OCSP）和时间戳服务（TSA），但未提供")
        context = revocation.context()
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            out = io.BytesIO()
            add_validation_info(reader.embedded_signatures[-1], context, output=out)
            pdf = out.getvalue()
            if level is PadesLevel.B_LTA:
                out = io.BytesIO()
                signers.PdfTimeStamper(self.timestamper, field_name="DocTimeStamp1").timestamp_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), "sha256", validation_context=revocation.context(),
                    bytes_reserved=self._reserve[True], output=out)
                pdf = out.getvalue()
        except Exception as exc:
            raise SealingError(f"添加 PAdES {level.value} 长期验证数据（证书链、吊销信息、文档时间戳）失败：{type(exc).__name__}: {exc}") from exc
        return pdf
