//! In-memory stores for wacore-libsignal, one struct per store trait (the crate takes them as separate `&mut dyn`).

use async_trait::async_trait;
use std::collections::HashMap;
use wacore_libsignal::protocol::{
    Direction, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore, PreKeyId, PreKeyRecord, PreKeyStore,
    ProtocolAddress, SessionRecord, SessionStore, SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord,
    SignedPreKeyStore,
};

type Result<T> = std::result::Result<T, SignalProtocolError>;

/// Own identity plus the peers' identities, trusted on first use.
pub(crate) struct Identities {
    pub(crate) own: IdentityKeyPair,
    pub(crate) registration_id: u32,
    pub(crate) peers: HashMap<ProtocolAddress, IdentityKey>,
    /// Accept a changed peer identity silently (a planted fault; the correct path refuses it).
    pub(crate) trust_changed_identities: bool,
}

#[async_trait]
impl IdentityKeyStore for Identities {
    async fn get_identity_key_pair(&self) -> Result<IdentityKeyPair> {
        Ok(self.own.clone())
    }

    async fn get_local_registration_id(&self) -> Result<u32> {
        Ok(self.registration_id)
    }

    async fn save_identity(&mut self, address: &ProtocolAddress, identity: &IdentityKey) -> Result<IdentityChange> {
        let previous = self.peers.insert(address.clone(), *identity);
        Ok(IdentityChange::from_changed(previous.is_some_and(|p| p != *identity)))
    }

    async fn is_trusted_identity(
        &self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
        _direction: Direction,
    ) -> Result<bool> {
        Ok(self.trust_changed_identities || self.peers.get(address).is_none_or(|known| known == identity))
    }

    async fn get_identity(&self, address: &ProtocolAddress) -> Result<Option<IdentityKey>> {
        Ok(self.peers.get(address).copied())
    }
}

/// One-time prekeys.
#[derive(Default)]
pub(crate) struct PreKeys(pub(crate) HashMap<PreKeyId, PreKeyRecord>);

#[async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> Result<PreKeyRecord> {
        self.0.get(&id).cloned().ok_or(SignalProtocolError::InvalidPreKeyId)
    }

    async fn save_pre_key(&mut self, id: PreKeyId, record: &PreKeyRecord) -> Result<()> {
        self.0.insert(id, record.clone());
        Ok(())
    }

    async fn remove_pre_key(&mut self, id: PreKeyId) -> Result<()> {
        self.0.remove(&id);
        Ok(())
    }
}

/// Signed prekeys.
#[derive(Default)]
pub(crate) struct SignedPreKeys(pub(crate) HashMap<SignedPreKeyId, SignedPreKeyRecord>);

#[async_trait]
impl SignedPreKeyStore for SignedPreKeys {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> Result<SignedPreKeyRecord> {
        self.0
            .get(&id)
            .cloned()
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }

    async fn save_signed_pre_key(&mut self, id: SignedPreKeyId, record: &SignedPreKeyRecord) -> Result<()> {
        self.0.insert(id, record.clone());
        Ok(())
    }
}

/// Sessions by peer address.
#[derive(Default)]
pub(crate) struct Sessions(pub(crate) HashMap<ProtocolAddress, SessionRecord>);

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> Result<Option<SessionRecord>> {
        Ok(self.0.get(address).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> Result<bool> {
        Ok(self.0.contains_key(address))
    }

    async fn store_session(&mut self, address: &ProtocolAddress, record: SessionRecord) -> Result<()> {
        self.0.insert(address.clone(), record);
        Ok(())
    }
}
