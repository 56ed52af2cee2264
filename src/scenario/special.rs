//! The steps of `prekey_single_use` and `identity_change` that go beyond a message flow: a second session on
//! a consumed one-time prekey, and a peer that comes back under a new identity key.

use super::exchange::{Exchange, PEER, PROVIDER, Stop, name, other};
use super::strategy::{Fault, IdentityChange, Message, PrekeyReuse};
use crate::family::roundtrip::Party;
use crate::outcome::{Observation, Outcome};
use crate::provider::{CallError, CallResult, CreateClient, ErrorClass};

fn first(from: Party) -> Message {
    Message {
        from,
        size: 0,
        delay: 0,
        fault: Fault::None,
        jump: 0,
    }
}

fn shown<T>(result: &CallResult<T>) -> String {
    match result {
        Ok(_) => "accepted".into(),
        Err(CallError::Rejected { class, .. }) => format!("rejected: {class}"),
        Err(e) => e.to_string(),
    }
}

fn harness(step: &str, e: &CallError) -> Stop {
    Stop::Halt(Box::new(
        Observation::from_call_error("the harness peer's step completes", e).at_step(step),
    ))
}

/// Judge a provider call that must be rejected with `class`.
fn must_reject<T>(result: &CallResult<T>, class: ErrorClass, why: &str) -> Result<(), Stop> {
    match result {
        Err(CallError::Rejected { class: c, .. }) if *c == class => Ok(()),
        Err(e @ (CallError::Transport { .. } | CallError::Unsupported { .. } | CallError::Violation { .. })) => Err(
            Stop::Halt(Box::new(Observation::from_call_error(format!("rejected: {class}"), e))),
        ),
        _ => Err(Stop::Fail {
            checks: &[],
            expected: format!("rejected: {class} ({why})"),
            observed: shown(result),
        }),
    }
}

/// A second session on the consumed one-time prekey must fail (RO-ENC-005); the surviving session, or a fresh
/// re-initiation, keeps working.
pub async fn prekey_reuse(ex: &mut Exchange<'_>, s: &PrekeyReuse, seed: u64) -> Result<(), Stop> {
    let stale = ex.fetch_bundle(Party::Provider).await?;
    let Some(prekey) = stale.prekey_id else {
        // Not judgeable, and never `unsupported`: that only comes from an operation left out of `operations`.
        return Err(Stop::Halt(Box::new(Observation::with(
            Outcome::Error,
            "a bundle with a one-time prekey",
            "the provider's bundle offers none: one-time prekey reuse cannot be judged",
        ))));
    };
    ex.start_from(Party::Peer, &stale).await?;
    // The peer's first message consumes the prekey, whatever `before` holds.
    let mut before = vec![first(Party::Peer)];
    before.extend(&s.before);
    ex.run(&before).await?;

    let (peer_api, peer_client) = ex.peer();
    let (second, sender) = if s.same_peer {
        (peer_client.clone(), PEER)
    } else {
        let create = CreateClient {
            name: "peer2".into(),
            seed: Some(seed ^ 0x2),
            keys: None,
        };
        let c = peer_api
            .create_client(&create)
            .await
            .map_err(|e| harness("create peer2", &e))?;
        (c, "peer2")
    };
    peer_api
        .process_bundle(&second, PROVIDER, &stale)
        .await
        .map_err(|e| harness("second session", &e))?;
    let pkmsg = peer_api
        .encrypt(&second, PROVIDER, b"second session")
        .await
        .map_err(|e| harness("second session", &e))?;
    let (provider_api, provider_client) = ex.provider();
    let result = provider_api.decrypt(provider_client, sender, &pkmsg).await;
    ex.record(
        format!("{sender} starts a second session on the consumed one-time prekey {prekey}; provider decrypts"),
        shown(&result),
    );
    must_reject(
        &result,
        ErrorClass::InvalidPrekey,
        "RO-ENC-005: a consumed one-time prekey is deleted",
    )?;

    if s.fresh {
        let fresh = ex.fetch_bundle(Party::Provider).await?;
        ex.start_from(Party::Peer, &fresh).await?;
        let mut after = vec![first(Party::Peer)];
        after.extend(&s.after);
        ex.run(&after).await
    } else if !s.same_peer {
        ex.run(&s.after).await
    } else {
        // The peer's own session is now the rejected one: nothing more to send on.
        Ok(())
    }
}

/// After an exchange, the peer returns under a new identity key; the provider must answer
/// `untrusted_identity` whether it receives the new session or starts one (RO-ID-008).
pub async fn identity_change(ex: &mut Exchange<'_>, s: &IdentityChange, seed: u64) -> Result<(), Stop> {
    ex.start(s.initiator, s.one_time_prekey).await?;
    // The initiator's first message makes sure both sides know each other's identity.
    let mut before = vec![first(s.initiator)];
    before.extend(&s.before);
    ex.run(&before).await?;

    let (peer_api, _) = ex.peer();
    let (provider_api, provider_client) = ex.provider();
    let provider_client = provider_client.clone();
    let create = CreateClient {
        name: PEER.into(),
        seed: Some(seed ^ 0x1d),
        keys: None,
    };
    let reinstalled = peer_api
        .create_client(&create)
        .await
        .map_err(|e| harness("new identity", &e))?;
    match s.new_session_by {
        Party::Peer => {
            let bundle = provider_api.prekey_bundle(&provider_client).await;
            let bundle = match bundle {
                Ok(b) => b,
                Err(e @ CallError::Rejected { .. }) => {
                    return Err(Stop::Fail {
                        checks: &[],
                        expected: "bundle published".into(),
                        observed: e.to_string(),
                    });
                }
                Err(e) => return Err(harness("prekey_bundle", &e)),
            };
            peer_api
                .process_bundle(&reinstalled, PROVIDER, &bundle)
                .await
                .map_err(|e| harness("new identity starts a session", &e))?;
            let pkmsg = peer_api
                .encrypt(&reinstalled, PROVIDER, b"new identity")
                .await
                .map_err(|e| harness("new identity encrypts", &e))?;
            let result = provider_api.decrypt(&provider_client, PEER, &pkmsg).await;
            ex.record(
                "peer returns under a new identity key and starts a session; provider decrypts",
                shown(&result),
            );
            must_reject(&result, ErrorClass::UntrustedIdentity, "RO-ID-008")
        }
        Party::Provider => {
            let bundle = peer_api
                .prekey_bundle(&reinstalled)
                .await
                .map_err(|e| harness("new identity publishes", &e))?;
            let result = provider_api.process_bundle(&provider_client, PEER, &bundle).await;
            ex.record(
                format!(
                    "peer returns under a new identity key; {} starts a session from its new bundle",
                    name(other(Party::Peer))
                ),
                shown(&result),
            );
            must_reject(&result, ErrorClass::UntrustedIdentity, "RO-ID-008")
        }
    }
}
