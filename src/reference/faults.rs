//! Planted bugs for `conformance selftest` and `--fault NAME`: each is a switch in the reference provider, off by
//! default, kept apart from the correct path, and named after the requirement it breaks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The group-messaging profile (Sender Keys).
pub const GROUPS_PROFILE: &str = "whatsapp-ro-groups";

/// One planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Process bundles without verifying the signed-prekey signature (RO-SIG-003).
    SkipSignedPrekeyCheck,
    /// Also accept signatures computed over the raw 32-byte key (RO-SIG-002).
    AcceptRawKeySignature,
    /// Decrypt without checking the WhisperMessage MAC (RO-ENC-011).
    SkipMacCheck,
    /// Compare only part of the MAC (RO-ENC-011).
    PartialMacCheck,
    /// XEdDSA: clear bits 253 and 254 of s instead of refusing a non-canonical s (RO-SIG-001).
    XeddsaMaskSTopBits,
    /// Accept duplicate messages, as if used message keys were kept (RO-ENC-014).
    AcceptDuplicates,
    /// Never delete consumed one-time prekeys (RO-ENC-005).
    KeepConsumedPrekeys,
    /// Accept any message version byte (RO-ENC-010).
    AcceptAnyVersion,
    /// Accept keys with a wrong type byte (RO-ID-007).
    AcceptWrongKeyType,
    /// No bound on counter jumps (RO-ENC-015).
    NoForwardJumpBound,
    /// Never drop receiver chains or archived sessions (RO-ENC-015B).
    KeepDroppedState,
    /// Accept a changed peer identity silently (RO-ID-008).
    AcceptIdentityChange,
    /// Media: skip the MAC check (RO-MEDIA-005).
    MediaSkipMac,
    /// Media: the wrong HKDF info string for one media type (RO-MEDIA-007).
    MediaWrongInfo,
    /// Media: ignore the file hashes (RO-MEDIA-006).
    MediaIgnoreHashes,
    /// Media: derive the media key from the file instead of picking a fresh one (RO-MEDIA-003).
    MediaConvergentKey,
    /// Security code: too few hash iterations (RO-ID-009).
    SecurityCodeFewIterations,
    /// Push: accept an unsecured token (`alg: none`) without verifying it (RO-ID-005F).
    AcceptAlgNone,
    /// Push: accept a token issued for another audience (RO-ID-005D).
    SkipAudienceCheck,
    /// Enlistment: sign the signed prekey over its raw 32 bytes, not 0x05 || key (RO-SIG-002).
    SignPrekeyOverRawKey,
    /// Keep the first sending ratchet key forever: no DH ratchet step on send (RO-ENC-006).
    NoDhRatchetOnSend,
    /// Send the first message's counter (and key) twice (RO-ENC-007).
    ReuseCounter,
    /// Write a registration id into every pkmsg that differs from the published one (RO-ID-010).
    RegistrationIdDrift,
    /// Start every session with the same base key (RO-ENC-003).
    StaleBaseKey,
    /// Write preKeyId 0 into a pkmsg when the bundle offered no one-time prekey (RO-ENC-013).
    MadeUpPrekeyId,
    /// Send pkmsgs with version byte 0x32 (RO-ENC-010).
    SendVersion0x32,
    /// Hand the same one-time prekey out in every bundle until it is consumed (RO-ENC-005).
    HandOutPrekeyTwice,
    /// Accept forward jumps up to 25,000 instead of refusing beyond 2,000 (RO-ENC-015C).
    LooseForwardBound,
    /// Keep every skipped message key: no bound on the skipped-key store (RO-ENC-015).
    UnboundedSkippedKeys,
    /// Keep sending on the old session after a new one was set up with the same peer (RO-ENC-004).
    SendOnOldSession,
    /// Enlist a registration id (e_regid) other than the one the client publishes (RO-ID-010).
    EnlistRegistrationIdDrift,
    /// Enlistment: sign the Partner token with HS256 instead of an asymmetric algorithm (RO-ID-003A).
    EnlistTokenHs256,
    /// MAC a constant 0x33 instead of the received version byte, and accept any version byte with a nibble 3
    /// (RO-ENC-011).
    VersionOutsideMac,
    /// Pin the identity key of a first pkmsg before its MAC verifies (RO-ID-008).
    IdentityPinnedBeforeAuth,
    /// Compare a msg's version byte under the mask 0xb3 (a typo for 0xff that drops bits 2, 3 and 6), so 0x37,
    /// 0x3b and 0x73 pass for 0x33 before the MAC is checked (RO-ENC-011). A rare-schedule fault: no vector
    /// carries those bytes, and only a tampered copy whose flipped bit is one of those three bits of the first
    /// byte shows it, which the default run's few schedules seldom draw and `explore` does ([`Fault::rare`]).
    VersionMaskTypo,
    /// Groups: decrypt a SenderKeyMessage whose signature does not verify (RO-SIG-004).
    GroupSkipSignature,
    /// Groups: sign outgoing SenderKeyMessages over the protobuf without the version byte (RO-SIG-004).
    GroupSignWithoutVersion,
    /// Groups: accept an SKDM signing key without its 0x05 type byte, or with another (RO-GROUP-002).
    GroupLaxSkdmKey,
    /// Groups: send the SKDM signing key as 32 raw bytes (RO-GROUP-002).
    GroupSkdmRawSigningKey,
    /// Groups: read the 48 "WhisperGroup" bytes as key || iv (RO-GROUP-003).
    GroupWrongMessageKey,
    /// Groups: accept any SenderKeyMessage version byte (RO-GROUP-004).
    GroupAnyVersion,
    /// Groups: accept a replayed SenderKeyMessage (RO-GROUP-005).
    GroupAcceptDuplicate,
    /// Groups: keep the sender key when a member leaves (RO-GROUP-006).
    GroupNoRekeyOnLeave,
    /// Groups: a rotated sender key keeps the old key id (RO-GROUP-008).
    GroupRotateKeepsId,
    /// Groups: advance the chain for a message whose signature then fails (RO-GROUP-011).
    GroupAdvanceBeforeVerify,
    /// Groups: no bound on sender-key iteration jumps (RO-GROUP-013).
    GroupUnboundedJump,
    /// Groups: upstream Signal's jump bound of 25,000 instead of WA Web's 2,000 (RO-GROUP-013A).
    GroupUpstreamJumpBound,
    /// Groups: send SenderKeyMessages in upstream Signal's fields (RO-GROUP-019).
    GroupUpstreamFormat,
    /// Groups: on a sixth sender key from one sender, evict the newest older state instead of the oldest
    /// (RO-GROUP-005).
    GroupEvictNewestState,
    /// Groups: give a member who joins later the key as first distributed (iteration 0, the first chain key),
    /// so it can read what came before (RO-GROUP-015).
    GroupSkdmFromStart,
    /// Transport: send ClientFinish without checking the server's certificate chain (RO-TRANSPORT-007).
    TransportSkipChainCheck,
    /// Transport: accept a certificate whose notAfter has passed (RO-TRANSPORT-007).
    TransportAcceptExpiredChain,
    /// Transport: send ClientFinish, then check the chain (RO-TRANSPORT-007).
    TransportFinishBeforeChainCheck,
    /// Transport: MixHash the decrypted server static instead of its ciphertext (RO-TRANSPORT-014).
    TransportMixPlaintextStatic,
    /// Transport: keep the nonce counter across MixKey (RO-TRANSPORT-005).
    TransportNoNonceReset,
    /// Transport: keep h as AAD after Split (RO-TRANSPORT-017).
    TransportAadAfterSplit,
    /// Transport: verify the chain with plain Ed25519 instead of XEdDSA (RO-TRANSPORT-015).
    TransportEd25519Chain,
    /// Transport: let the 32-bit sending counter wrap to 0 (RO-TRANSPORT-019).
    TransportCounterWraps,
    /// Transport: on an IK rejection, send a second ClientHello with a new ephemeral instead of completing the
    /// XXfallback (RO-TRANSPORT-022).
    TransportFallbackNewHello,
    /// Transport: on an IK rejection, trust the fallback's certificate chain unchecked (RO-TRANSPORT-022).
    TransportFallbackSkipsChain,
    /// Transport: cache the server static for IK resume before checking its chain, so the credential later goes,
    /// IK-sealed, to a server whose chain was refused (RO-TRANSPORT-007/021).
    TransportCacheUnverified,
    /// Transport: resume with IK again right after the server rejected an IK (RO-TRANSPORT-022A).
    TransportIkAfterRejection,
    /// The Partner's JWKS answers HTTP/2 requests with 505 (RO-TRANSPORT-011).
    JwksHttp1Only,
    /// The Partner's push endpoint answers HTTP/2 requests with 505 (RO-TRANSPORT-011).
    PushHttp1Only,
    /// Groups: install an SKDM from a pairwise message whose MAC does not verify (RO-GROUP-009).
    GroupSkdmUnauthenticated,
    /// Answer "unsupported" (501 over HTTP) to `decrypt` for a replayed message instead of refusing it: an
    /// adapter opting out of a mandatory operation for the requests it would fail (RO-ENC-014).
    #[serde(rename = "selective-501")]
    Selective501,
}

impl Fault {
    /// Every fault, in a stable order.
    pub const ALL: [Fault; 66] = [
        Self::SkipSignedPrekeyCheck,
        Self::AcceptRawKeySignature,
        Self::XeddsaMaskSTopBits,
        Self::SkipMacCheck,
        Self::PartialMacCheck,
        Self::AcceptDuplicates,
        Self::KeepConsumedPrekeys,
        Self::AcceptAnyVersion,
        Self::AcceptWrongKeyType,
        Self::NoForwardJumpBound,
        Self::KeepDroppedState,
        Self::AcceptIdentityChange,
        Self::MediaSkipMac,
        Self::MediaWrongInfo,
        Self::MediaIgnoreHashes,
        Self::MediaConvergentKey,
        Self::SecurityCodeFewIterations,
        Self::AcceptAlgNone,
        Self::SkipAudienceCheck,
        Self::SignPrekeyOverRawKey,
        Self::NoDhRatchetOnSend,
        Self::ReuseCounter,
        Self::RegistrationIdDrift,
        Self::StaleBaseKey,
        Self::MadeUpPrekeyId,
        Self::SendVersion0x32,
        Self::HandOutPrekeyTwice,
        Self::LooseForwardBound,
        Self::UnboundedSkippedKeys,
        Self::SendOnOldSession,
        Self::EnlistRegistrationIdDrift,
        Self::EnlistTokenHs256,
        Self::VersionOutsideMac,
        Self::IdentityPinnedBeforeAuth,
        Self::VersionMaskTypo,
        Self::GroupSkipSignature,
        Self::GroupSignWithoutVersion,
        Self::GroupLaxSkdmKey,
        Self::GroupSkdmRawSigningKey,
        Self::GroupWrongMessageKey,
        Self::GroupAnyVersion,
        Self::GroupAcceptDuplicate,
        Self::GroupNoRekeyOnLeave,
        Self::GroupRotateKeepsId,
        Self::GroupAdvanceBeforeVerify,
        Self::GroupUnboundedJump,
        Self::GroupUpstreamJumpBound,
        Self::GroupUpstreamFormat,
        Self::GroupEvictNewestState,
        Self::GroupSkdmFromStart,
        Self::GroupSkdmUnauthenticated,
        Self::Selective501,
        Self::TransportSkipChainCheck,
        Self::TransportAcceptExpiredChain,
        Self::TransportFinishBeforeChainCheck,
        Self::TransportMixPlaintextStatic,
        Self::TransportNoNonceReset,
        Self::TransportAadAfterSplit,
        Self::TransportEd25519Chain,
        Self::TransportCounterWraps,
        Self::TransportFallbackNewHello,
        Self::TransportFallbackSkipsChain,
        Self::TransportCacheUnverified,
        Self::TransportIkAfterRejection,
        Self::JwksHttp1Only,
        Self::PushHttp1Only,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::SkipSignedPrekeyCheck => "skip-signed-prekey-check",
            Self::AcceptRawKeySignature => "accept-raw-key-signature",
            Self::XeddsaMaskSTopBits => "xeddsa-mask-s-top-bits",
            Self::SkipMacCheck => "skip-mac-check",
            Self::PartialMacCheck => "partial-mac-check",
            Self::AcceptDuplicates => "accept-duplicates",
            Self::KeepConsumedPrekeys => "keep-consumed-prekeys",
            Self::AcceptAnyVersion => "accept-any-version",
            Self::AcceptWrongKeyType => "accept-wrong-key-type",
            Self::NoForwardJumpBound => "no-forward-jump-bound",
            Self::KeepDroppedState => "keep-dropped-state",
            Self::AcceptIdentityChange => "accept-identity-change",
            Self::MediaSkipMac => "media-skip-mac",
            Self::MediaWrongInfo => "media-wrong-info",
            Self::MediaIgnoreHashes => "media-ignore-hashes",
            Self::MediaConvergentKey => "media-convergent-key",
            Self::SecurityCodeFewIterations => "security-code-few-iterations",
            Self::AcceptAlgNone => "accept-alg-none",
            Self::SkipAudienceCheck => "skip-audience-check",
            Self::SignPrekeyOverRawKey => "sign-prekey-over-raw-key",
            Self::NoDhRatchetOnSend => "no-dh-ratchet-on-send",
            Self::ReuseCounter => "reuse-counter",
            Self::RegistrationIdDrift => "registration-id-drift",
            Self::StaleBaseKey => "stale-base-key",
            Self::MadeUpPrekeyId => "made-up-prekey-id",
            Self::SendVersion0x32 => "send-version-0x32",
            Self::HandOutPrekeyTwice => "hand-out-prekey-twice",
            Self::LooseForwardBound => "loose-forward-bound",
            Self::UnboundedSkippedKeys => "unbounded-skipped-keys",
            Self::SendOnOldSession => "send-on-old-session",
            Self::EnlistRegistrationIdDrift => "enlist-registration-id-drift",
            Self::EnlistTokenHs256 => "enlist-token-hs256",
            Self::VersionOutsideMac => "version-outside-mac",
            Self::IdentityPinnedBeforeAuth => "identity-pinned-before-auth",
            Self::VersionMaskTypo => "version-mask-typo",
            Self::GroupSkipSignature => "group-skip-signature",
            Self::GroupSignWithoutVersion => "group-sign-without-version",
            Self::GroupLaxSkdmKey => "group-lax-skdm-key",
            Self::GroupSkdmRawSigningKey => "group-skdm-raw-signing-key",
            Self::GroupWrongMessageKey => "group-wrong-message-key",
            Self::GroupAnyVersion => "group-any-version",
            Self::GroupAcceptDuplicate => "group-accept-duplicate",
            Self::GroupNoRekeyOnLeave => "group-no-rekey-on-leave",
            Self::GroupRotateKeepsId => "group-rotate-keeps-id",
            Self::GroupAdvanceBeforeVerify => "group-advance-before-verify",
            Self::GroupUnboundedJump => "group-unbounded-jump",
            Self::GroupUpstreamJumpBound => "group-upstream-jump-bound",
            Self::GroupUpstreamFormat => "group-upstream-format",
            Self::GroupEvictNewestState => "group-evict-newest-state",
            Self::GroupSkdmFromStart => "group-skdm-from-start",
            Self::GroupSkdmUnauthenticated => "group-skdm-unauthenticated",
            Self::Selective501 => "selective-501",
            Self::TransportSkipChainCheck => "transport-skip-chain-check",
            Self::TransportAcceptExpiredChain => "transport-accept-expired-chain",
            Self::TransportFinishBeforeChainCheck => "transport-finish-before-chain-check",
            Self::TransportMixPlaintextStatic => "transport-mix-plaintext-static",
            Self::TransportNoNonceReset => "transport-no-nonce-reset",
            Self::TransportAadAfterSplit => "transport-aad-after-split",
            Self::TransportEd25519Chain => "transport-ed25519-chain",
            Self::TransportCounterWraps => "transport-counter-wraps",
            Self::TransportFallbackNewHello => "transport-fallback-new-hello",
            Self::TransportFallbackSkipsChain => "transport-fallback-skips-chain",
            Self::TransportCacheUnverified => "transport-cache-unverified",
            Self::TransportIkAfterRejection => "transport-ik-after-rejection",
            Self::JwksHttp1Only => "jwks-http1-only",
            Self::PushHttp1Only => "push-http1-only",
        }
    }

    /// The requirement the fault breaks; selftest expects it among the failed ones.
    pub fn breaks(self) -> &'static str {
        match self {
            Self::SkipSignedPrekeyCheck => "RO-SIG-003",
            Self::AcceptRawKeySignature => "RO-SIG-002",
            Self::XeddsaMaskSTopBits => "RO-SIG-001",
            Self::SkipMacCheck | Self::PartialMacCheck => "RO-ENC-011",
            Self::AcceptDuplicates | Self::Selective501 => "RO-ENC-014",
            Self::KeepConsumedPrekeys => "RO-ENC-005",
            Self::AcceptAnyVersion => "RO-ENC-010",
            Self::AcceptWrongKeyType => "RO-ID-007",
            Self::NoForwardJumpBound => "RO-ENC-015",
            Self::KeepDroppedState => "RO-ENC-015B",
            Self::AcceptIdentityChange => "RO-ID-008",
            Self::MediaSkipMac => "RO-MEDIA-005",
            Self::MediaWrongInfo => "RO-MEDIA-007",
            Self::MediaIgnoreHashes => "RO-MEDIA-006",
            Self::MediaConvergentKey => "RO-MEDIA-003",
            Self::SecurityCodeFewIterations => "RO-ID-009",
            Self::AcceptAlgNone => "RO-ID-005F",
            Self::SkipAudienceCheck => "RO-ID-005D",
            Self::SignPrekeyOverRawKey => "RO-SIG-002",
            Self::NoDhRatchetOnSend => "RO-ENC-006",
            Self::ReuseCounter => "RO-ENC-007",
            Self::RegistrationIdDrift => "RO-ID-010",
            Self::StaleBaseKey => "RO-ENC-003",
            Self::MadeUpPrekeyId => "RO-ENC-013",
            Self::SendVersion0x32 => "RO-ENC-010",
            Self::HandOutPrekeyTwice => "RO-ENC-005",
            Self::LooseForwardBound => "RO-ENC-015C",
            Self::UnboundedSkippedKeys => "RO-ENC-015",
            Self::SendOnOldSession => "RO-ENC-004",
            Self::EnlistRegistrationIdDrift => "RO-ID-010",
            Self::EnlistTokenHs256 => "RO-ID-003A",
            Self::VersionOutsideMac | Self::VersionMaskTypo => "RO-ENC-011",
            Self::IdentityPinnedBeforeAuth => "RO-ID-008",
            Self::GroupSkipSignature | Self::GroupSignWithoutVersion => "RO-SIG-004",
            Self::GroupLaxSkdmKey | Self::GroupSkdmRawSigningKey => "RO-GROUP-002",
            Self::GroupWrongMessageKey => "RO-GROUP-003",
            Self::GroupAnyVersion => "RO-GROUP-004",
            Self::GroupAcceptDuplicate => "RO-GROUP-005",
            Self::GroupNoRekeyOnLeave => "RO-GROUP-006",
            Self::GroupRotateKeepsId => "RO-GROUP-008",
            Self::GroupAdvanceBeforeVerify => "RO-GROUP-011",
            Self::GroupUnboundedJump => "RO-GROUP-013",
            Self::GroupUpstreamJumpBound => "RO-GROUP-013A",
            Self::GroupUpstreamFormat => "RO-GROUP-019",
            Self::GroupEvictNewestState => "RO-GROUP-005",
            Self::GroupSkdmFromStart => "RO-GROUP-015",
            Self::TransportSkipChainCheck
            | Self::TransportAcceptExpiredChain
            | Self::TransportFinishBeforeChainCheck => "RO-TRANSPORT-007",
            Self::TransportMixPlaintextStatic => "RO-TRANSPORT-014",
            Self::TransportNoNonceReset => "RO-TRANSPORT-005",
            Self::TransportAadAfterSplit => "RO-TRANSPORT-017",
            Self::TransportEd25519Chain => "RO-TRANSPORT-015",
            Self::TransportCounterWraps => "RO-TRANSPORT-019",
            Self::TransportFallbackNewHello | Self::TransportFallbackSkipsChain => "RO-TRANSPORT-022",
            Self::TransportCacheUnverified => "RO-TRANSPORT-007",
            Self::TransportIkAfterRejection => "RO-TRANSPORT-022A",
            Self::JwksHttp1Only | Self::PushHttp1Only => "RO-TRANSPORT-011",
            Self::GroupSkdmUnauthenticated => "RO-GROUP-009",
        }
    }

    /// The profile whose run catches the fault (selftest tries a fault only in its profile's run).
    pub fn profile(self) -> &'static str {
        if self.name().starts_with("group-") {
            GROUPS_PROFILE
        } else {
            crate::plan::DEFAULT_PROFILE
        }
    }

    /// A fault only rare schedules show: the default run may miss it, so selftest also gives it a bounded
    /// `explore` campaign and says which of the two caught it.
    pub fn rare(self) -> bool {
        matches!(self, Self::VersionMaskTypo)
    }

    /// Parse a command-line name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The faults switched on in one reference provider (empty: the correct implementation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(pub BTreeSet<Fault>);

impl Faults {
    /// No fault.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether no fault is on.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Exactly one fault.
    pub fn only(fault: Fault) -> Self {
        Self(BTreeSet::from([fault]))
    }

    /// Whether `fault` is on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }
}
